//! The process collector's standard series (CPU, resident memory, open fds, start
//! time), read from /proc on Linux at scrape time; absent where /proc is not.

use std::sync::OnceLock;

/// One reading of the process; every field has the unit of its Prometheus series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcessStats {
    /// User plus system CPU time (`process_cpu_seconds_total`).
    pub cpu_seconds: f64,
    /// Resident set size (`process_resident_memory_bytes`).
    pub resident_bytes: u64,
    /// Open file descriptors (`process_open_fds`).
    pub open_fds: u64,
    /// Unix time the process started (`process_start_time_seconds`).
    pub start_time_seconds: f64,
}

/// The fields of /proc/self/stat this module uses, in clock ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StatTicks {
    utime: u64,
    stime: u64,
    starttime: u64,
}

/// Reads the process now, or `None` when /proc (or any file in it) is unavailable.
pub fn read() -> Option<ProcessStats> {
    let ticks_per_sec = clock_ticks_per_second()?;
    let stat = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let resident_pages = parse_statm_resident(&std::fs::read_to_string("/proc/self/statm").ok()?)?;
    Some(ProcessStats {
        cpu_seconds: (stat.utime + stat.stime) as f64 / ticks_per_sec as f64,
        resident_bytes: resident_pages.saturating_mul(page_size()?),
        open_fds: count_open_fds()?,
        start_time_seconds: start_time_seconds(stat.starttime, ticks_per_sec)?,
    })
}

/// `sysconf(_SC_CLK_TCK)`: the unit of /proc's CPU and start times.
#[cfg(target_os = "linux")]
fn clock_ticks_per_second() -> Option<u64> {
    Some(rustix::param::clock_ticks_per_second()).filter(|&t| t > 0)
}

#[cfg(not(target_os = "linux"))]
fn clock_ticks_per_second() -> Option<u64> {
    None
}

/// `sysconf(_SC_PAGESIZE)`: the unit of /proc/self/statm.
#[cfg(target_os = "linux")]
fn page_size() -> Option<u64> {
    u64::try_from(rustix::param::page_size()).ok()
}

#[cfg(not(target_os = "linux"))]
fn page_size() -> Option<u64> {
    None
}

/// The process's start as Unix time: boot time plus `starttime` ticks. Computed once;
/// neither input changes while the process lives.
fn start_time_seconds(starttime_ticks: u64, ticks_per_sec: u64) -> Option<f64> {
    static START: OnceLock<Option<f64>> = OnceLock::new();
    *START.get_or_init(|| {
        let boot = parse_boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
        Some(boot as f64 + starttime_ticks as f64 / ticks_per_sec as f64)
    })
}

/// Entries of /proc/self/fd (the directory handle doing the counting included, as in
/// the Prometheus client libraries).
fn count_open_fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count() as u64)
}

/// utime, stime and starttime (fields 14, 15 and 22) of /proc/self/stat. The command
/// name (field 2) is in parentheses and may itself hold spaces and parentheses, so
/// the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<StatTicks> {
    let after_comm = &text[text.rfind(')')? + 1..];
    // after_comm's first field is field 3 (state).
    let fields: Vec<&str> = after_comm.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(StatTicks {
        utime: field(14)?,
        stime: field(15)?,
        starttime: field(22)?,
    })
}

/// The resident set size in pages: the second field of /proc/self/statm.
fn parse_statm_resident(text: &str) -> Option<u64> {
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// The `btime` line of /proc/stat: boot time in Unix seconds.
fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line = "4242 (we ird) (x) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    150 25 0 0 20 0 9 0 123456 1000000 300 18446744073709551615";
        let t = parse_stat(line).unwrap();
        assert_eq!(
            t,
            StatTicks {
                utime: 150,
                stime: 25,
                starttime: 123456
            }
        );
        assert_eq!(parse_stat("4242 (cut short) S 1 2"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }

    #[test]
    fn statm_and_btime() {
        assert_eq!(
            parse_statm_resident("5000 1234 300 10 0 900 0\n"),
            Some(1234)
        );
        assert_eq!(parse_statm_resident("5000"), None);
        let stat = "cpu  1 2 3\ncpu0 1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n";
        assert_eq!(parse_boot_time(stat), Some(1_700_000_000));
        assert_eq!(parse_boot_time("cpu 1 2 3\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_plausibly() {
        let p = read().expect("/proc is mounted on Linux");
        assert!(p.resident_bytes > 1 << 20, "{p:?}");
        assert!(p.open_fds >= 3, "{p:?}");
        assert!(p.cpu_seconds >= 0.0, "{p:?}");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started in the past, and not before 2020.
        assert!(p.start_time_seconds <= now + 1.0, "{p:?}");
        assert!(p.start_time_seconds > 1_577_836_800.0, "{p:?}");
    }
}
