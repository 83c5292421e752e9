//! Open files: every per-user connection is one. Raise this process's soft
//! limit to its hard limit, and say before the run starts when a plan needs
//! more connections than the process may open.

use rustix::process::{getrlimit, setrlimit, Resource};

/// Files kept for everything that is not a user's connection (the runtime,
/// logs, the bundled service, the manager's links).
pub const RESERVED: u64 = 256;

/// Raises the soft open-file limit to the hard one; returns the limit now in force
/// (`None`: unlimited).
pub fn raise_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
    getrlimit(Resource::Nofile).current
}

/// Why `users` connections (one per user, each `files_each` open files: 2
/// when the target serves from this process too) will not fit under `limit`.
pub fn too_many(users: u64, files_each: u64, limit: Option<u64>) -> Option<String> {
    let limit = limit?;
    let needed = users.saturating_mul(files_each).saturating_add(RESERVED);
    (needed > limit).then(|| {
        let both = if files_each > 1 {
            " (the bundled service answers them in this process: two files each)"
        } else {
            ""
        };
        format!(
            "the plan peaks at {users} users, each holding its own connection{both}, but this \
             process may open only {limit} files (its hard limit, `ulimit -Hn`); raise that \
             limit, split the users over workers (`loadgen manager`), or use --connections shared"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_raised_and_plans_beyond_it_are_named() {
        let limit = raise_limit();
        assert_eq!(limit, getrlimit(Resource::Nofile).maximum);
        assert_eq!(too_many(100, 1, Some(20_000)), None);
        let why = too_many(19_900, 1, Some(20_000)).unwrap();
        assert!(
            why.contains("19900 users") && why.contains("20000 files"),
            "{why}"
        );
        assert!(too_many(10_000, 2, Some(20_000))
            .unwrap()
            .contains("two files each"));
        assert_eq!(too_many(u64::MAX, 2, None), None);
    }
}
