//! What the person chose to look at (screen, sort, help) and how keys change it.

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
    Other,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewState {
    pub screen: Screen,
    pub sort: SortKey,
    pub help: bool,
    /// The person asked to stop; the run is winding down.
    pub quitting: bool,
}

impl ViewState {
    /// Applies a key; returns true when it asks the run to stop.
    pub fn on_key(&mut self, key: Key) -> bool {
        let n = Screen::ALL.len();
        match key {
            Key::Quit => {
                let first = !self.quitting;
                self.quitting = true;
                return first;
            }
            Key::Tab => self.screen = Screen::ALL[(self.screen.index() + 1) % n],
            Key::BackTab => self.screen = Screen::ALL[(self.screen.index() + n - 1) % n],
            Key::Digit(d @ 1..=4) => self.screen = Screen::ALL[d as usize - 1],
            Key::Sort => self.sort = self.sort.next(),
            Key::Help => self.help = !self.help,
            Key::Digit(_) | Key::Other => {}
        }
        false
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
        assert!(v.on_key(Key::Quit));
        assert!(!v.on_key(Key::Quit));
        assert!(v.quitting);
    }
}
