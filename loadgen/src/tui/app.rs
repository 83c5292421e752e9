//! The dashboard's own thread: takes snapshots in, reads keys, draws at most
//! ten frames a second. The run never waits on it.

use super::model::{Model, Snapshot};
use super::render::render;
use super::term::TerminalGuard;
use super::view::{Key, ViewState};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(100);
/// How often the whole screen is repainted: goose prints a line to stdout when
/// its users are launched, which would otherwise scroll the picture for good.
const HEAL: Duration = Duration::from_secs(5);

pub(super) struct Loop {
    pub guard: TerminalGuard,
    pub model: Model,
    pub rx: Receiver<Snapshot>,
    pub stop: Arc<AtomicBool>,
    pub on_quit: Box<dyn Fn() + Send>,
}

impl Loop {
    /// Runs until told to stop or the run's side hangs up; the guard restores on return.
    pub fn run(mut self) -> io::Result<()> {
        let mut view = ViewState::default();
        let mut dirty = true;
        let mut last_draw: Option<Instant> = None;
        let mut last_heal = Instant::now();
        loop {
            loop {
                match self.rx.try_recv() {
                    Ok(snap) => {
                        self.model.apply(snap);
                        dirty = true;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return Ok(()),
                }
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let since = last_draw.map_or(FRAME, |t| t.elapsed());
            if dirty && since >= FRAME {
                let heal = last_heal.elapsed() >= HEAL;
                if heal {
                    last_heal = Instant::now();
                }
                self.draw(&view, heal)?;
                dirty = false;
                last_draw = Some(Instant::now());
            }
            let wait = if dirty {
                FRAME.saturating_sub(since)
            } else {
                FRAME
            };
            if event::poll(wait)? {
                match event::read()? {
                    Event::Key(k) if k.kind == KeyEventKind::Press => {
                        if view.on_key(key(k)) {
                            (self.on_quit)();
                        }
                        dirty = true;
                    }
                    Event::Resize(..) => {
                        last_heal -= HEAL;
                        dirty = true;
                    }
                    _ => {}
                }
            }
        }
    }

    /// One frame, inside a synchronized update so terminals that know it show
    /// no half-drawn state; `full` clears first and repaints every cell.
    fn draw(&mut self, view: &ViewState, full: bool) -> io::Result<()> {
        queue!(io::stdout(), BeginSynchronizedUpdate)?;
        if full {
            self.guard.terminal.clear()?;
        }
        let model = &self.model;
        self.guard.terminal.draw(|f| render(model, view, f))?;
        execute!(io::stdout(), EndSynchronizedUpdate)
    }
}

/// Raw mode delivers Ctrl-C as a key: it stops the run like q.
fn key(k: KeyEvent) -> Key {
    match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
        KeyCode::Char('q') | KeyCode::Char('Q') => Key::Quit,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Char(c @ '1'..='9') => Key::Digit(c as u8 - b'0'),
        KeyCode::Char('s') | KeyCode::Char('S') => Key::Sort,
        KeyCode::Char('?') | KeyCode::Char('h') => Key::Help,
        _ => Key::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_actions() {
        let k = |code, mods| key(KeyEvent::new(code, mods));
        assert_eq!(k(KeyCode::Char('c'), KeyModifiers::CONTROL), Key::Quit);
        assert_eq!(k(KeyCode::Char('c'), KeyModifiers::NONE), Key::Other);
        assert_eq!(k(KeyCode::Char('q'), KeyModifiers::NONE), Key::Quit);
        assert_eq!(k(KeyCode::Char('3'), KeyModifiers::NONE), Key::Digit(3));
        assert_eq!(k(KeyCode::BackTab, KeyModifiers::SHIFT), Key::BackTab);
    }
}
