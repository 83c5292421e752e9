//! The open model's schedule: when each arrival is due, from a shape of
//! iterations per second over time (each stage a linear ramp to its rate, as
//! `plan:` is for users). Arrival k is due when k + 1 arrivals' worth of rate
//! has accumulated, so a run of R/s for S seconds makes R x S arrivals.

use crate::shape::Shape;

/// One stage as the schedule sees it: from `rate_from` to `rate_to` per second
/// over `secs` seconds starting at `start`; `before` arrivals accumulated before it.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: f64,
    secs: f64,
    rate_from: f64,
    rate_to: f64,
    before: f64,
}

impl Segment {
    fn area(&self) -> f64 {
        (self.rate_from + self.rate_to) / 2.0 * self.secs
    }

    /// Seconds into the segment at which `need` arrivals have accumulated.
    fn time_of(&self, need: f64) -> f64 {
        let (b, a) = (
            self.rate_from,
            (self.rate_to - self.rate_from) / (2.0 * self.secs),
        );
        let x = if a.abs() < 1e-12 {
            need / b
        } else {
            // a x^2 + b x = need, in the form that stays exact when a is small.
            2.0 * need / (b + (b * b + 4.0 * a * need).max(0.0).sqrt())
        };
        x.clamp(0.0, self.secs)
    }
}

/// The due times of every arrival of a rate shape, in order.
#[derive(Clone, Debug)]
pub struct Schedule {
    segments: Vec<Segment>,
    total: u64,
}

impl Schedule {
    pub fn new(shape: &Shape) -> Schedule {
        let (mut start, mut before, mut prev) = (0.0, 0.0, 0.0);
        let mut segments = Vec::new();
        for stage in &shape.stages {
            let seg = Segment {
                start,
                secs: stage.secs as f64,
                rate_from: prev,
                rate_to: stage.level as f64,
                before,
            };
            if seg.secs > 0.0 {
                before += seg.area();
                segments.push(seg);
            }
            start += stage.secs as f64;
            prev = stage.level as f64;
        }
        Schedule {
            segments,
            total: (before + 1e-9).floor() as u64,
        }
    }

    /// How many arrivals the whole shape makes.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// When arrival `k` (from 0) is due, in seconds from the start.
    pub fn due(&self, k: u64) -> Option<f64> {
        if k >= self.total {
            return None;
        }
        let need = (k + 1) as f64;
        let i = self
            .segments
            .partition_point(|s| s.before + s.area() < need - 1e-9);
        let seg = self.segments.get(i).or(self.segments.last())?;
        Some(seg.start + seg.time_of(need - seg.before))
    }

    /// The arrivals due in `[from, to)` seconds, as (k, due) from arrival `next`.
    pub fn due_until(&self, next: &mut u64, to: f64) -> Vec<(u64, f64)> {
        let mut out = Vec::new();
        while let Some(t) = self.due(*next) {
            if t >= to {
                break;
            }
            out.push((*next, t));
            *next += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(plan: &str) -> Schedule {
        Schedule::new(&Shape::parse_plan(plan).unwrap())
    }

    #[test]
    fn a_steady_rate_is_evenly_spaced() {
        let s = schedule("100,0s;100,10s");
        assert_eq!(s.total(), 1_000);
        assert!((s.due(0).unwrap() - 0.01).abs() < 1e-9);
        assert!((s.due(99).unwrap() - 1.0).abs() < 1e-9);
        assert!((s.due(999).unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(s.due(1_000), None);
    }

    #[test]
    fn a_ramp_follows_the_integral_of_its_rate() {
        // 0 -> 200/s over 10 s: 1,000 arrivals, A(t) = 10 t^2.
        let s = schedule("200,10s");
        assert_eq!(s.total(), 1_000);
        for k in [0, 9, 249, 999] {
            let expected = ((k + 1) as f64 / 10.0).sqrt();
            assert!((s.due(k).unwrap() - expected).abs() < 1e-6, "{k}");
        }
        // Ramping down mirrors it: 200 -> 0 over 10 s after a 1 s hold.
        let down = schedule("200,0s;200,1s;0,10s");
        assert_eq!(down.total(), 1_200);
        let last = down.due(1_199).unwrap();
        assert!(last > 10.0 && last <= 11.0 + 1e-9, "{last}");
    }

    #[test]
    fn due_times_never_go_backwards_and_batches_take_each_once() {
        let s = schedule("50,3s;500,2s;500,2s;20,4s");
        let mut next = 0;
        let mut all = Vec::new();
        let mut t = 0.0;
        while t < 20.0 {
            t += 0.013;
            all.extend(s.due_until(&mut next, t));
        }
        assert_eq!(all.len() as u64, s.total());
        assert!(all
            .windows(2)
            .all(|w| w[0].1 <= w[1].1 && w[1].0 == w[0].0 + 1));
    }
}
