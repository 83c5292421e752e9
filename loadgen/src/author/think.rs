//! `--think`: a pause between tasks for every user of a run, fixed ("10s") or
//! uniformly random in a range ("3s..7s"), overriding each scenario's own.

use super::scenario::ScenarioDef;
use crate::units::parse_time_us;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const MAX_US: f64 = 3_600_000_000.0;

/// A think-time override, in microseconds; `min_us == max_us` is a fixed pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Think {
    pub min_us: u64,
    pub max_us: u64,
}

impl Think {
    /// Parses "10s", "250ms" or "3s..7s" (each time with its unit).
    pub fn parse(text: &str) -> Result<Think, String> {
        let one = |t: &str| match parse_time_us(t.trim())? {
            us if (0.0..=MAX_US).contains(&us) => Ok(us as u64),
            _ => Err(format!("'{t}': a think time is between 0s and 1h")),
        };
        let (min_us, max_us) = match text.split_once("..") {
            Some((a, b)) => (one(a)?, one(b)?),
            None => {
                let t = one(text)?;
                (t, t)
            }
        };
        if min_us > max_us {
            return Err(format!(
                "'{text}': the first time is above the second; write MIN..MAX, as in 3s..7s"
            ));
        }
        Ok(Think { min_us, max_us })
    }

    pub fn min(&self) -> Duration {
        Duration::from_micros(self.min_us)
    }

    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us)
    }

    /// The scenarios with this pause in place of their own (unchanged without one).
    pub fn apply(think: Option<Think>, scenarios: Vec<ScenarioDef>) -> Vec<ScenarioDef> {
        match think {
            Some(t) => scenarios
                .into_iter()
                .map(|s| s.think(t.min(), t.max()))
                .collect(),
            None => scenarios,
        }
    }
}

/// "10s", "250ms" or "3s..7s": the form `parse` reads.
impl std::fmt::Display for Think {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let one = |us: u64| match us {
            us if us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
            us if us % 1_000 == 0 => format!("{}ms", us / 1_000),
            us => format!("{us}us"),
        };
        if self.min_us == self.max_us {
            f.write_str(&one(self.min_us))
        } else {
            write!(f, "{}..{}", one(self.min_us), one(self.max_us))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_time_is_a_fixed_pause() {
        let t = Think::parse("10s").unwrap();
        assert_eq!(
            (t.min(), t.max()),
            (Duration::from_secs(10), Duration::from_secs(10))
        );
    }

    #[test]
    fn a_range_is_min_and_max() {
        let t = Think::parse("250ms..3s").unwrap();
        assert_eq!(t.min(), Duration::from_millis(250));
        assert_eq!(t.max(), Duration::from_secs(3));
        assert_eq!(
            Think::parse(" 3s .. 7s ").unwrap().max(),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn prints_as_it_parses() {
        for text in ["10s", "250ms", "3s..8s", "0s..1500ms", "750us"] {
            assert_eq!(Think::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn bad_input_is_named() {
        assert!(Think::parse("7s..3s").unwrap_err().contains("MIN..MAX"));
        assert!(Think::parse("soon").is_err());
        assert!(Think::parse("3s..").is_err());
        assert!(Think::parse("-1s").unwrap_err().contains("positive"));
        assert!(Think::parse("7200s")
            .unwrap_err()
            .contains("between 0s and 1h"));
        assert!(Think::parse("inf").is_err());
        // A bare number was read as milliseconds: now it needs its unit.
        assert!(Think::parse("500").unwrap_err().contains("no unit"));
        assert!(Think::parse("1s..2").unwrap_err().contains("no unit"));
    }
}
