//! The terminal guard: raw mode, the alternate screen and stdout/stderr
//! redirected (see `output`) while it lives; the normal screen and the real
//! stdout/stderr again on drop and on panic.

use super::backend::Screen;
use super::output::{Redirect, Saved};
use crossterm::cursor::{Hide, Show};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, Once};

/// Whether the terminal is ours right now (the panic hook restores only then).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Where stdout and stderr go back to, for `restore` from wherever it is called.
static SAVED: Mutex<Option<Saved>> = Mutex::new(None);
static HOOK: Once = Once::new();

pub struct TerminalGuard {
    /// Draws on the real terminal, not on the redirected stdout.
    pub terminal: Terminal<Screen>,
    output: Option<Redirect>,
}

impl TerminalGuard {
    /// Takes the terminal; what the process prints meanwhile is sent to `lines`.
    pub fn enter(lines: Sender<String>) -> io::Result<TerminalGuard> {
        install_panic_hook();
        let output = Redirect::start(lines)?;
        *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(output.saved()?);
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = output.terminal.try_clone().and_then(|mut screen| {
            enable_raw_mode()?;
            execute!(screen, EnterAlternateScreen, Hide)?;
            Terminal::new(Screen::new(screen))
        });
        match entered {
            Ok(mut terminal) => {
                terminal.clear()?;
                Ok(TerminalGuard {
                    terminal,
                    output: Some(output),
                })
            }
            Err(e) => {
                restore();
                let _ = output.finish();
                Err(e)
            }
        }
    }

    /// Gives the terminal back; returns what the process printed meanwhile.
    pub fn leave(mut self) -> Vec<String> {
        restore();
        self.output.take().map(Redirect::finish).unwrap_or_default()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and puts stdout and stderr back,
/// once, whoever asks first.
pub(crate) fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        if let Some(saved) = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = execute!(&saved.terminal, LeaveAlternateScreen, Show);
            saved.restore();
        }
    }
}

/// A panic anywhere restores the terminal before the message prints, so the
/// message is readable and the shell is usable.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
