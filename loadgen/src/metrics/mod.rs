//! Measurement: HDR helpers, the per-request recorder, mergeable snapshots, the aggregator.

pub mod aggregate;
pub mod hdr;
pub mod recorder;
pub mod snapshot;

pub use aggregate::{Aggregator, FinalSecond, SecondPoint};
pub use recorder::{Recorder, Sample};
pub use snapshot::{EndpointKey, EndpointStats, FailureKind, IntervalSnapshot};
