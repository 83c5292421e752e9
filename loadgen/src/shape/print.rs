//! A shape for people: one line per stage, a table, and a users-over-time plot.

use super::Shape;
use crate::units::fmt_secs;
use std::fmt::Write;

const WIDTH: usize = 64;
const HEIGHT: usize = 12;

impl Shape {
    /// One line per stage for people: `ramp to 2000 users over 1m`.
    pub fn describe_stage(&self, index: usize) -> String {
        let stage = self.stages[index];
        let prev = if index == 0 {
            0
        } else {
            self.stages[index - 1].level
        };
        let verb = match stage.level.cmp(&prev) {
            std::cmp::Ordering::Equal => "hold",
            std::cmp::Ordering::Greater => "ramp up to",
            std::cmp::Ordering::Less => "ramp down to",
        };
        format!(
            "{verb} {} {} over {}",
            stage.level,
            self.model.unit(),
            fmt_secs(stage.secs)
        )
    }
}

/// The plan as text: a header, one line per stage, the stop rules, and the plot.
pub fn describe(shape: &Shape) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: peak {} {}, {} in all, ramp-up ends at {}",
        shape.name,
        shape.peak(),
        shape.model.unit(),
        fmt_secs(shape.total_secs()),
        fmt_secs(shape.ramp_up_secs())
    );
    let _ = writeln!(
        out,
        "{:>4}  {:>8}  {:>8}  {:>8}  what",
        "#",
        "start",
        "length",
        match shape.model {
            super::LoadModel::Closed => "users",
            super::LoadModel::Open => "rate",
        }
    );
    let mut t = 0;
    for (i, stage) in shape.stages.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>4}  {:>8}  {:>8}  {:>8}  {}",
            i + 1,
            fmt_secs(t),
            fmt_secs(stage.secs),
            stage.level,
            shape.describe_stage(i)
        );
        t += stage.secs;
    }
    if let Some(stop) = shape.stop {
        let _ = writeln!(
            out,
            "stops early when, over the last {} s, errors > {:.1}% or p99 > {} ms, or when rps grows < {:.0}% across two steps",
            stop.window_secs,
            stop.max_error_rate * 100.0,
            stop.max_p99_us / 1_000,
            stop.min_growth * 100.0
        );
    }
    out.push('\n');
    out.push_str(&plot(shape));
    out
}

/// Users over time as a character plot, `HEIGHT` rows by `WIDTH` columns.
pub fn plot(shape: &Shape) -> String {
    let total = shape.total_secs().max(1) as f64;
    let peak = shape.peak().max(1) as f64;
    let columns: Vec<f64> = (0..WIDTH)
        .map(|c| shape.level_at((c as f64 + 0.5) * total / WIDTH as f64))
        .collect();
    let mut out = String::new();
    for row in (0..HEIGHT).rev() {
        let level = (row as f64 + 0.5) * peak / HEIGHT as f64;
        let label = if row == HEIGHT - 1 {
            format!("{:>7}", shape.peak())
        } else if row == 0 {
            format!("{:>7}", 0)
        } else {
            " ".repeat(7)
        };
        let line: String = columns
            .iter()
            .map(|&u| if u >= level { '#' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{label} |{line}");
    }
    let _ = writeln!(out, "{} +{}", " ".repeat(7), "-".repeat(WIDTH));
    let end = fmt_secs(shape.total_secs());
    let _ = writeln!(
        out,
        "{}  0s{}{end}",
        " ".repeat(7),
        " ".repeat(WIDTH.saturating_sub(2 + end.len()))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_has_the_peak_and_the_length() {
        let shape = Shape::parse_plan("100,10s;100,20s;0,10s").unwrap();
        let text = describe(&shape);
        assert!(text.contains("peak 100 users"));
        assert!(text.contains("ramp up to 100 users over 10s"));
        assert!(text.contains("hold 100 users over 20s"));
        let plot = plot(&shape);
        assert_eq!(plot.lines().count(), HEIGHT + 2);
        // The top row is full in the hold and empty at the start.
        let top = plot.lines().next().unwrap();
        let bars = top.split('|').nth(1).unwrap();
        assert!(bars.starts_with(' ') && bars.contains('#'));
    }
}
