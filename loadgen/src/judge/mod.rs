//! The judge: everything that decides pass or fail, live and at the end.
//!
//! - [`rule`]: one threshold (`p95<500ms for GET /books/{id}`), parsed and evaluated on HDR stats.
//! - [`profile`]: named sets of rules (`reference-10k`, `api-slo`, `none`).
//! - [`sustained`]: rules with a window (`error-rate<1% for 30s`), judged on each second.
//! - [`recovery`]: how the target took each fault: disturbed, recovered, lost.
//! - [`stress`]: the breaking-point detector of a stress run, judged each second.
//! - [`verdict`]: the run's verdict from its thresholds and breaking point.
//! - [`regression`]: a run against a baseline run, within regression limits.

pub mod evaluate;
pub mod live;
pub mod profile;
pub mod recovery;
pub mod regression;
pub mod rule;
pub mod stress;
pub mod sustained;
pub mod verdict;

pub use evaluate::{evaluate_all, Evidence};
pub use profile::{profile, rules};
pub use recovery::FaultReport;
pub use rule::{Rule, RuleResult};
pub use stress::{BreakingPoint, StressDetector};
pub use verdict::Verdict;
