//! The dashboard's own thread: takes snapshots in, reads keys, draws at most
//! ten frames a second. The run never waits on it.

use super::model::{Model, Snapshot};
use super::render::render;
use super::term::TerminalGuard;
use super::view::{Action, Key, ViewState};
use crate::control::Command;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use crossterm::{execute, queue};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(100);

pub(super) struct Loop {
    pub guard: TerminalGuard,
    pub model: Model,
    pub rx: Receiver<Snapshot>,
    /// Lines the process printed meanwhile (stdout and stderr are redirected).
    pub printed: Receiver<String>,
    pub stop: Arc<AtomicBool>,
    pub on_quit: Box<dyn Fn() + Send>,
    /// Applies a change from the steering keys; `None`: the run takes none.
    pub on_steer: Option<SteerFn>,
}

/// Applies a change and says what was done, or why it was refused.
pub type SteerFn = Box<dyn Fn(Command) -> Result<String, String> + Send>;

impl Loop {
    /// Runs until told to stop or the run's side hangs up, then gives the
    /// terminal back; returns what the process printed meanwhile.
    pub fn run(mut self) -> io::Result<Vec<String>> {
        let result = self.serve();
        let printed = self.guard.leave();
        result.map(|()| printed)
    }

    fn serve(&mut self) -> io::Result<()> {
        let mut view = ViewState {
            steerable: self.on_steer.is_some(),
            ..ViewState::default()
        };
        let mut dirty = true;
        let mut last_draw: Option<Instant> = None;
        // A resize repaints every cell (nothing else writes to the terminal).
        let mut full = false;
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
            while let Ok(line) = self.printed.try_recv() {
                self.model.printed(line);
                dirty = true;
            }
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let since = last_draw.map_or(FRAME, |t| t.elapsed());
            if dirty && since >= FRAME {
                self.draw(&view, std::mem::take(&mut full))?;
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
                        match view.on_key(key(k, view.prompt.is_some())) {
                            Action::Quit => (self.on_quit)(),
                            Action::Steer(command) => {
                                if let Some(steer) = &self.on_steer {
                                    view.notice = Some(match steer(command) {
                                        Ok(done) => done,
                                        Err(why) => format!("refused: {why}"),
                                    });
                                }
                            }
                            Action::None => {}
                        }
                        dirty = true;
                    }
                    Event::Resize(..) => {
                        full = true;
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
        queue!(self.guard.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        if full {
            self.guard.terminal.clear()?;
        }
        let model = &self.model;
        self.guard.terminal.draw(|f| render(model, view, f))?;
        execute!(self.guard.terminal.backend_mut(), EndSynchronizedUpdate)
    }
}

/// Raw mode delivers Ctrl-C as a key: it stops the run like q. While the
/// person is `typing` in the prompt, characters are theirs.
fn key(k: KeyEvent, typing: bool) -> Key {
    match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
        KeyCode::Char(c) if typing => Key::Char(c),
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Escape,
        KeyCode::Char('+') | KeyCode::Char('=') => Key::More,
        KeyCode::Char('-') => Key::Fewer,
        KeyCode::Char('u') | KeyCode::Char('U') => Key::SetLevel,
        KeyCode::Char('p') | KeyCode::Char('P') => Key::Pause,
        KeyCode::Char('n') | KeyCode::Char('N') => Key::NextStage,
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
        let k = |code, mods| key(KeyEvent::new(code, mods), false);
        assert_eq!(k(KeyCode::Char('c'), KeyModifiers::CONTROL), Key::Quit);
        assert_eq!(k(KeyCode::Char('c'), KeyModifiers::NONE), Key::Other);
        assert_eq!(k(KeyCode::Char('q'), KeyModifiers::NONE), Key::Quit);
        assert_eq!(k(KeyCode::Char('3'), KeyModifiers::NONE), Key::Digit(3));
        assert_eq!(k(KeyCode::BackTab, KeyModifiers::SHIFT), Key::BackTab);
        assert_eq!(k(KeyCode::Char('+'), KeyModifiers::SHIFT), Key::More);
        assert_eq!(k(KeyCode::Char('p'), KeyModifiers::NONE), Key::Pause);
        let typing = key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE), true);
        assert_eq!(typing, Key::Char('q'));
    }
}
