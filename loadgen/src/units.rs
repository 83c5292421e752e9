//! Units in one place: time spans ("90s", "1h30m"), latencies ("500ms", "750us"),
//! rates ("1%"), and every way a number of microseconds is written for people.
//! Latencies and rates always carry their unit: a bare number is refused.

use std::fmt::Write;

/// Parses a span of whole seconds: digits followed by `h`, `m` or `s`, in any
/// combination and order of size (`1h30m`, `90s`); a bare number is seconds.
pub fn parse_secs(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: write e.g. 90s, 10m, 2h or 1h30m".into());
    }
    if text.chars().all(|c| c.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| format!("duration '{text}' is too large"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => {
                return Err(format!(
                    "duration '{text}': unknown unit '{c}' (use h, m or s)"
                ))
            }
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("duration '{text}': a number must come before '{c}'"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration '{text}' is too large"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!(
            "duration '{text}': '{digits}' has no unit (h, m or s)"
        ));
    }
    Ok(total)
}

/// Writes seconds compactly: `45s`, `2m30s`, `1h05m`.
pub fn fmt_secs(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h{m:02}m");
        if s > 0 {
            let _ = write!(out, "{s:02}s");
        }
    } else if m > 0 {
        let _ = write!(out, "{m}m");
        if s > 0 {
            let _ = write!(out, "{s:02}s");
        }
    } else {
        let _ = write!(out, "{s}s");
    }
    out
}

/// A span in milliseconds for timeouts and grace periods: `500ms`, `2s`,
/// `1m30s`, or a bare number of seconds (`60`, as `--timeout` always took).
pub fn parse_span_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("'{text}' is not a time: use e.g. 500ms, 2s or 1m"));
    }
    parse_secs(text)?
        .checked_mul(1_000)
        .ok_or_else(|| format!("'{text}' is too long"))
}

/// A size in bytes: `65536`, `64KiB`, `64MiB`, `1GiB` (also `KB`, `MB`, `GB`
/// as powers of 1,000).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(format!(
                "'{text}': unknown size unit (use e.g. 64KiB, 10MiB, 1GiB)"
            ))
        }
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("'{text}' is not a size: use e.g. 64KiB, 10MiB, 1GiB"))
}

/// A span for people: `45s`, `2m30s` when whole seconds, else `500ms`, `1.25s`.
pub fn fmt_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1_000) {
        fmt_secs(d.as_secs())
    } else if ms < 1_000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// `500ms`, `2s`, `750us`; returns microseconds. The unit is required: a
/// bare number is ambiguous (`p95<5` was once read as 5 ms), so it is refused.
pub fn parse_time_us(text: &str) -> Result<f64, String> {
    let (num, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000_000.0)
    } else if text.trim().parse::<f64>().is_ok() {
        return Err(format!(
            "'{text}' has no unit: write a time as e.g. 500ms, 2s or 750us"
        ));
    } else {
        return Err(format!(
            "'{text}' is not a time: use e.g. 500ms, 2s or 750us"
        ));
    };
    match num.trim().parse::<f64>().map(|n| n * scale) {
        Ok(us) if us.is_finite() && us >= 0.0 => Ok(us),
        Ok(_) => Err(format!(
            "'{text}': a time is a positive number, as in 500ms"
        )),
        Err(_) => Err(format!(
            "'{text}' is not a time: use e.g. 500ms, 2s or 750us"
        )),
    }
}

/// `1%`, `0.5%`, `100%`; returns a fraction (0.01). The `%` is required: a
/// bare `1` was read as 100% and `0.01` as 1%, so neither is guessed.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let Some(n) = text.trim().strip_suffix('%') else {
        return Err(match text.trim().parse::<f64>() {
            Ok(_) => format!(
                "'{text}' has no %: write a rate as a percentage (write 1% for one percent)"
            ),
            Err(_) => format!("'{text}' is not a rate: use e.g. 1%"),
        });
    };
    match n.trim().parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p / 100.0),
        Ok(_) => Err(format!("'{text}': a rate is from 0% to at most 100%")),
        Err(_) => Err(format!("'{text}' is not a rate: use e.g. 1%")),
    }
}

/// Microseconds as milliseconds, as Locust's tables print them: two decimals
/// under 10 ms (`3.21`), whole milliseconds above (`38`). The console table
/// and the dashboard.
pub fn fmt_ms(us: f64) -> String {
    let ms = us / 1_000.0;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

/// Microseconds as milliseconds with two decimals, always (`0.45`, `1520.00`):
/// the one format report.html, summary.md and `compare` share, so their
/// figures agree to the digit.
pub fn fmt_ms_fixed(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// Whole milliseconds, rounded half up, as Locust's CSVs write medians and percentiles.
pub fn whole_ms(us: u64) -> u64 {
    (us + 500) / 1000
}

/// Formats microseconds for people: `850us`, `12.3ms`, `1.52s`.
pub fn fmt_us(us: u64) -> String {
    if us < 1_000 {
        format!("{us}us")
    } else if us < 10_000 {
        format!("{:.2}ms", us as f64 / 1_000.0)
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1_000.0)
    } else {
        format!("{:.2}s", us as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_in_milliseconds_read_and_write_back() {
        assert_eq!(parse_span_ms("500ms"), Ok(500));
        assert_eq!(parse_span_ms("60"), Ok(60_000));
        assert_eq!(parse_span_ms("1m30s"), Ok(90_000));
        assert!(parse_span_ms("fast").is_err());
        assert!(parse_span_ms("1.5ms").is_err());
        use std::time::Duration;
        assert_eq!(fmt_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(fmt_duration(Duration::from_millis(90_000)), "1m30s");
        assert_eq!(fmt_duration(Duration::from_millis(1_250)), "1.25s");
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1000"), Ok(1000));
        assert_eq!(parse_bytes("2 KB"), Ok(2000));
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_secs("90s"), Ok(90));
        assert_eq!(parse_secs("10m"), Ok(600));
        assert_eq!(parse_secs("2h"), Ok(7200));
        assert_eq!(parse_secs("1h30m"), Ok(5400));
        assert_eq!(parse_secs("45"), Ok(45));
        assert_eq!(parse_secs("1H2M3S"), Ok(3723));
    }

    #[test]
    fn refuses_junk_with_a_reason() {
        assert!(parse_secs("").unwrap_err().contains("empty"));
        assert!(parse_secs("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_secs("10m5").unwrap_err().contains("no unit"));
        assert!(parse_secs("m").unwrap_err().contains("number must come"));
    }

    #[test]
    fn formats_round_trip() {
        for secs in [0, 5, 59, 60, 61, 3599, 3600, 3661, 14_400] {
            assert_eq!(parse_secs(&fmt_secs(secs)), Ok(secs), "{secs}");
        }
        assert_eq!(fmt_us(850), "850us");
        assert_eq!(fmt_us(12_345), "12.3ms");
        assert_eq!(fmt_us(1_520_000), "1.52s");
        assert_eq!(fmt_ms(3_214.0), "3.21");
        assert_eq!(fmt_ms(38_400.0), "38");
        assert_eq!(fmt_ms_fixed(1_520_000), "1520.00");
        assert_eq!(whole_ms(1_499), 1);
        assert_eq!(whole_ms(1_500), 2);
    }

    #[test]
    fn latencies_and_rates() {
        assert_eq!(parse_time_us("500ms"), Ok(500_000.0));
        assert_eq!(parse_time_us("2s"), Ok(2_000_000.0));
        assert_eq!(parse_time_us("750us"), Ok(750.0));
        assert!(parse_time_us("fast").unwrap_err().contains("not a time"));
        assert!(parse_time_us("500").unwrap_err().contains("no unit"));
        assert!(parse_time_us("-5ms").unwrap_err().contains("positive"));
        assert!(parse_time_us("infs").is_err());
        assert_eq!(parse_rate("1%"), Ok(0.01));
        assert_eq!(parse_rate("100%"), Ok(1.0));
        assert!(parse_rate("0.5").unwrap_err().contains("write 1%"));
        assert!(parse_rate("1").unwrap_err().contains("write 1%"));
        assert!(parse_rate("150%").unwrap_err().contains("at most 100%"));
        assert!(parse_rate("-1%").unwrap_err().contains("at most 100%"));
        assert!(parse_rate("lots").unwrap_err().contains("not a rate"));
    }
}
