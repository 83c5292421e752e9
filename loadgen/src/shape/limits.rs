//! The largest run loadgen takes: users, arrival rates, time and waiting
//! arrivals, checked before anything starts so that no size wraps around,
//! panics on overflow, or asks for more memory than a machine has.

use super::LoadModel;
use crate::units::fmt_secs;

/// Most users at once in a run (a closed shape's peak, `--users`,
/// `--max-users`), across all of a distributed run's workers. Each holds a
/// connection and a task.
pub const MAX_USERS: u64 = 1_000_000;
/// Most iterations started per second (an open shape's peak, `--rate`).
pub const MAX_RATE: u64 = 10_000_000;
/// Longest a run (or any one stage, `--duration`, a timeout) may last: 30 days.
pub const MAX_SECS: u64 = 30 * 24 * 3600;
/// Most arrivals that may wait for a free user (`--max-queue`), each a few words of memory.
pub const MAX_QUEUE: u64 = 10_000_000;

/// A level of a shape of `model`: users or iterations per second, within limits.
pub fn check_level(model: LoadModel, level: u64) -> Result<(), String> {
    let (max, unit, verb) = match model {
        LoadModel::Closed => (MAX_USERS, "users", "have"),
        LoadModel::Open => (MAX_RATE, "iterations/s", "start"),
    };
    if level > max {
        return Err(format!(
            "{level} {unit}: a run may {verb} at most {max} {unit}"
        ));
    }
    Ok(())
}

/// A span of time a run, a stage or a timeout may take.
pub fn check_secs(secs: u64) -> Result<(), String> {
    if secs > MAX_SECS {
        return Err(format!(
            "{secs} s: a run lasts at most 30 days ({})",
            fmt_secs(MAX_SECS)
        ));
    }
    Ok(())
}

/// Adds up stage lengths without wrapping; an error past `MAX_SECS`.
pub fn total_secs(stages: impl IntoIterator<Item = u64>) -> Result<u64, String> {
    let mut total: u64 = 0;
    for secs in stages {
        total = total.saturating_add(secs);
    }
    check_secs(total)
        .map(|()| total)
        .map_err(|e| format!("in all, {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_past_the_limits_are_refused_never_wrapped() {
        assert!(check_level(LoadModel::Closed, MAX_USERS).is_ok());
        let e = check_level(LoadModel::Closed, u64::MAX).unwrap_err();
        assert!(e.contains("at most 1000000 users"), "{e}");
        let e = check_level(LoadModel::Open, MAX_RATE + 1).unwrap_err();
        assert!(e.contains("at most 10000000 iterations/s"), "{e}");
        assert_eq!(total_secs([MAX_SECS - 1, 1]), Ok(MAX_SECS));
        let e = total_secs([u64::MAX, 10]).unwrap_err();
        assert!(e.contains("at most 30 days"), "{e}");
    }
}
