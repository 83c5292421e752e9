//! Measurement: HDR helpers, the per-request recorder, mergeable snapshots, the
//! aggregator, and the figures every report and screen shows.
//!
//! - [`recorder`]: where requests are recorded (per-thread HDR shards), drained each second.
//! - [`snapshot`]: mergeable per-endpoint stats and the per-second interval snapshot.
//! - [`aggregate`]: merges snapshots into cumulative stats, a per-second series, a window.
//! - [`request_series`]: the per-second series of the requests windowed rules name.
//! - [`figures`]: an endpoint's Locust figures, computed once, and an error's record.
//! - [`connections`]: the users' connections: open, opened, failed, connect times.
//! - [`generator`]: the generator checking itself: start lag, CPU, queued and dropped arrivals.
//! - [`hdr`]: one histogram layout, clamping, V2 bytes and base64.
//! - [`v2`]: untrusted V2 bytes checked (declared lengths, sizes) before decoding.
//! - [`bounded`]: the most rows one snapshot may hold, checked while decoding it.

pub mod aggregate;
pub mod bounded;
pub mod connection_figures;
pub mod connections;
pub mod figures;
pub mod generator;
pub mod hdr;
pub mod recorder;
pub mod request_series;
pub mod second;
pub mod snapshot;
pub mod v2;

pub use aggregate::{Aggregator, FinalSecond};
pub use connection_figures::{ConnectionFigures, ConnectionTotals};
pub use connections::{ConnectionMeter, ConnectionStats};
pub use figures::{EndpointFigures, ErrorCount};
pub use generator::{GeneratorFigures, GeneratorMeter, GeneratorStats, GeneratorTotals};
pub use recorder::{Recorder, Sample, MAX_NAMES, OTHER_NAMES};
pub use request_series::RequestSeries;
pub use second::SecondPoint;
pub use snapshot::{EndpointKey, EndpointStats, FailureKind, IntervalSnapshot};
