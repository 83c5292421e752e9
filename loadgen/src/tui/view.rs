//! What the person chose to look at (screen, sort, help), the steering
//! prompt they are typing in, and how keys change them.

use crate::control::command::from_prompt;
use crate::control::Command;

/// The four screens, in tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Screen {
    #[default]
    Overview,
    Endpoints,
    Errors,
    Workers,
}

impl Screen {
    pub const ALL: [Screen; 4] = [
        Screen::Overview,
        Screen::Endpoints,
        Screen::Errors,
        Screen::Workers,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Endpoints => "Endpoints",
            Screen::Errors => "Errors",
            Screen::Workers => "Workers",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// The endpoints table's order (`s` cycles through them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Name,
    Requests,
    Failures,
    Median,
    P95,
    P99,
    Rps,
}

impl SortKey {
    const ALL: [SortKey; 7] = [
        SortKey::Name,
        SortKey::Requests,
        SortKey::Failures,
        SortKey::Median,
        SortKey::P95,
        SortKey::P99,
        SortKey::Rps,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Requests => "# requests",
            SortKey::Failures => "# fails",
            SortKey::Median => "median",
            SortKey::P95 => "95%ile",
            SortKey::P99 => "99%ile",
            SortKey::Rps => "RPS",
        }
    }

    fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
}

/// A key press, already told apart from terminal noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Quit,
    Tab,
    BackTab,
    Digit(u8),
    Sort,
    Help,
    /// Steering: a tenth more (+) or fewer (-), a level typed in (u), pause
    /// or resume (p), end the stage (n).
    More,
    Fewer,
    SetLevel,
    Pause,
    NextStage,
    /// While typing in the prompt.
    Char(char),
    Backspace,
    Enter,
    Escape,
    Other,
}

/// What a key asks of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    None,
    Quit,
    Steer(Command),
}

/// The longest text the prompt takes.
const PROMPT_MAX: usize = 32;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewState {
    pub screen: Screen,
    pub sort: SortKey,
    pub help: bool,
    /// The person asked to stop; the run is winding down.
    pub quitting: bool,
    /// The run takes changes from these keys.
    pub steerable: bool,
    /// The level being typed (`u`), until Enter or Esc.
    pub prompt: Option<String>,
    /// The answer to the last change asked (done, or refused and why).
    pub notice: Option<String>,
}

impl ViewState {
    /// Applies a key; says what it asks of the run.
    pub fn on_key(&mut self, key: Key) -> Action {
        if let Some(text) = self.prompt.as_mut() {
            match key {
                Key::Quit => return self.quit(),
                Key::Char(c) if text.len() < PROMPT_MAX => text.push(c),
                Key::Backspace => {
                    text.pop();
                }
                Key::Escape => self.prompt = None,
                Key::Enter => match from_prompt(text) {
                    Ok(command) => {
                        self.prompt = None;
                        return Action::Steer(command);
                    }
                    Err(why) => self.notice = Some(why),
                },
                _ => {}
            }
            return Action::None;
        }
        let n = Screen::ALL.len();
        let steer = |command| Action::Steer(command);
        let wanted = match key {
            Key::Quit => return self.quit(),
            Key::Tab => {
                self.screen = Screen::ALL[(self.screen.index() + 1) % n];
                return Action::None;
            }
            Key::BackTab => {
                self.screen = Screen::ALL[(self.screen.index() + n - 1) % n];
                return Action::None;
            }
            Key::Digit(d @ 1..=4) => {
                self.screen = Screen::ALL[d as usize - 1];
                return Action::None;
            }
            Key::Sort => {
                self.sort = self.sort.next();
                return Action::None;
            }
            Key::Help => {
                self.help = !self.help;
                return Action::None;
            }
            Key::More => steer(Command::Nudge { up: true }),
            Key::Fewer => steer(Command::Nudge { up: false }),
            Key::Pause => steer(Command::TogglePause),
            Key::NextStage => steer(Command::NextStage),
            Key::SetLevel => Action::None,
            _ => return Action::None,
        };
        if !self.steerable {
            self.notice = Some("this run cannot be steered".into());
            return Action::None;
        }
        if key == Key::SetLevel {
            self.prompt = Some(String::new());
            self.notice = None;
        }
        wanted
    }

    fn quit(&mut self) -> Action {
        let first = !self.quitting;
        self.quitting = true;
        if first {
            Action::Quit
        } else {
            Action::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_digits_sort_and_help() {
        let mut v = ViewState::default();
        v.on_key(Key::Tab);
        assert_eq!(v.screen, Screen::Endpoints);
        v.on_key(Key::BackTab);
        v.on_key(Key::BackTab);
        assert_eq!(v.screen, Screen::Workers);
        v.on_key(Key::Digit(3));
        assert_eq!(v.screen, Screen::Errors);
        v.on_key(Key::Digit(9));
        assert_eq!(v.screen, Screen::Errors);
        v.on_key(Key::Sort);
        assert_eq!(v.sort, SortKey::Requests);
        for _ in 0..6 {
            v.on_key(Key::Sort);
        }
        assert_eq!(v.sort, SortKey::Name);
        v.on_key(Key::Help);
        assert!(v.help);
    }

    #[test]
    fn quit_asks_to_stop_once() {
        let mut v = ViewState::default();
        assert_eq!(v.on_key(Key::Quit), Action::Quit);
        assert_eq!(v.on_key(Key::Quit), Action::None);
        assert!(v.quitting);
    }

    #[test]
    fn steering_keys_and_the_prompt() {
        let mut v = ViewState::default();
        assert_eq!(v.on_key(Key::More), Action::None);
        assert_eq!(v.notice.as_deref(), Some("this run cannot be steered"));
        v.steerable = true;
        assert_eq!(
            v.on_key(Key::More),
            Action::Steer(Command::Nudge { up: true })
        );
        assert_eq!(v.on_key(Key::Pause), Action::Steer(Command::TogglePause));
        assert_eq!(v.on_key(Key::SetLevel), Action::None);
        for c in "50x".chars() {
            v.on_key(Key::Char(c));
        }
        v.on_key(Key::Backspace);
        assert_eq!(v.on_key(Key::Char(' ')), Action::None);
        for c in "10s".chars() {
            v.on_key(Key::Char(c));
        }
        assert_eq!(
            v.on_key(Key::Enter),
            Action::Steer(Command::Level {
                level: 50,
                ramp_secs: 10
            })
        );
        assert!(v.prompt.is_none());
        v.on_key(Key::SetLevel);
        v.on_key(Key::Char('z'));
        assert_eq!(v.on_key(Key::Enter), Action::None);
        assert!(v.notice.as_deref().unwrap().contains("whole number"));
        v.on_key(Key::Escape);
        assert!(v.prompt.is_none());
    }
}
