//! Shapes resized and divided: scaled to a peak and a length, split exactly
//! across workers by capacity (largest remainder), resumed mid-plan.

use super::{Shape, Stage};

impl Shape {
    /// What is left of the plan `secs` into it, for a worker that takes over
    /// users mid-run: a 1 s ramp to the users planned at that moment, then the
    /// rest of the timeline.
    pub fn tail_from(&self, secs: u64) -> Shape {
        let mut stages = vec![Stage {
            level: self.level_at(secs as f64).round() as u64,
            secs: 1,
        }];
        let mut t = 0;
        let mut skip = 1;
        for stage in &self.stages {
            let end = t + stage.secs;
            if end > secs {
                let left = end - secs.max(t);
                let take = left.min(skip);
                skip -= take;
                stages.push(Stage {
                    level: stage.level,
                    secs: left - take,
                });
            }
            t = end;
        }
        stages.retain(|s| s.secs > 0 || s.level == 0);
        Shape {
            stages,
            ..self.clone()
        }
    }

    /// The same shape with its peak at `users` and its timeline stretched to `secs`.
    pub fn scaled(&self, users: Option<u64>, secs: Option<u64>) -> Shape {
        let mut shape = self.clone();
        if let Some(users) = users {
            let peak = u128::from(self.peak().max(1));
            for stage in &mut shape.stages {
                // Round half up, but never scale a non-zero level down to
                // nobody. In u128: no level or peak can overflow it, and the
                // result is at most `users`.
                let exact = u128::from(stage.level) * u128::from(users) * 2 + peak;
                let scaled = u64::try_from(exact / (peak * 2)).unwrap_or(u64::MAX);
                stage.level = if stage.level > 0 && users > 0 {
                    scaled.max(1)
                } else {
                    scaled
                };
            }
        }
        if let Some(secs) = secs {
            let weights: Vec<u64> = self.stages.iter().map(|s| s.secs).collect();
            for (stage, s) in shape
                .stages
                .iter_mut()
                .zip(largest_remainder(secs, &weights))
            {
                stage.secs = s;
            }
        }
        shape
    }

    /// Splits the users of every stage across parts in proportion to `capacities`;
    /// at every stage the parts' users add up to the whole exactly.
    pub fn split(&self, capacities: &[u64]) -> Vec<Shape> {
        let mut parts: Vec<Shape> = capacities
            .iter()
            .map(|_| Shape {
                stages: vec![],
                ..self.clone()
            })
            .collect();
        for stage in &self.stages {
            for (part, users) in parts
                .iter_mut()
                .zip(largest_remainder(stage.level, capacities))
            {
                part.stages.push(Stage {
                    level: users,
                    secs: stage.secs,
                });
            }
        }
        parts
    }
}

/// Divides `total` in proportion to `weights` (Hamilton's method): whole shares
/// first, the rest one each to the largest remainders, ties to the lower index.
/// The result always sums to `total`; all-zero weights split evenly.
pub fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    if weights.is_empty() {
        return Vec::new();
    }
    let even = vec![1; weights.len()];
    let weights = if weights.iter().all(|&w| w == 0) {
        &even[..]
    } else {
        weights
    };
    let sum: u128 = weights.iter().map(|&w| w as u128).sum();
    let mut shares: Vec<u64> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = total as u128 * w as u128;
        shares.push((exact / sum) as u64);
        remainders.push((exact % sum, i));
    }
    let left = total - shares.iter().sum::<u64>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(left as usize) {
        shares[i] += 1;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn scaling_keeps_the_form_and_hits_the_totals() {
        let shape = Shape::stages(10_000).scaled(Some(300), Some(90));
        assert_eq!(shape.peak(), 300);
        assert_eq!(shape.total_secs(), 90);
        assert_eq!(shape.stages[0].level, 60);
    }

    #[test]
    fn tail_resumes_where_the_plan_is() {
        let shape = Shape::parse_plan("100,10s;100,20s").unwrap();
        let tail = shape.tail_from(5);
        assert_eq!(tail.stages[0], Stage { level: 50, secs: 1 });
        assert_eq!(tail.total_secs(), 25);
        assert_eq!(tail.peak(), 100);
        assert_eq!(
            shape.tail_from(15).stages,
            vec![
                Stage {
                    level: 100,
                    secs: 1
                },
                Stage {
                    level: 100,
                    secs: 14
                }
            ]
        );
    }

    #[test]
    fn largest_remainder_is_exact_and_fair() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(7, &[2, 1]), vec![5, 2]);
        assert_eq!(largest_remainder(5, &[0, 0]), vec![3, 2]);
        assert_eq!(largest_remainder(0, &[3, 4]), vec![0, 0]);
    }

    #[test]
    fn property_split_preserves_totals_at_every_stage() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let stages = (0..rng.random_range(1..12))
                .map(|_| Stage {
                    level: rng.random_range(0..100_000),
                    secs: rng.random_range(0..600),
                })
                .collect();
            let shape = Shape {
                stages,
                ..Shape::new("p", vec![])
            };
            let caps: Vec<u64> = (0..rng.random_range(1..40))
                .map(|_| rng.random_range(0..500))
                .collect();
            let parts = shape.split(&caps);
            assert_eq!(parts.len(), caps.len());
            for (i, stage) in shape.stages.iter().enumerate() {
                let sum: u64 = parts.iter().map(|p| p.stages[i].level).sum();
                assert_eq!(sum, stage.level);
                assert!(parts.iter().all(|p| p.stages[i].secs == stage.secs));
                let cap_sum: u64 = caps.iter().sum();
                if cap_sum > 0 {
                    // Each share is within one user of its exact proportion.
                    for (p, &c) in parts.iter().zip(&caps) {
                        let exact = stage.level as f64 * c as f64 / cap_sum as f64;
                        assert!((p.stages[i].level as f64 - exact).abs() < 1.0 + 1e-9);
                    }
                }
            }
        }
    }

    #[test]
    fn property_scaling_duration_is_exact() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..300 {
            let shape = Shape::spike(rng.random_range(10..50_000));
            let secs = rng.random_range(1..100_000);
            assert_eq!(shape.scaled(None, Some(secs)).total_secs(), secs);
        }
    }
}
