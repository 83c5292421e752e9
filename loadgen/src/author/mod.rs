//! The author room: what a load test's author writes and reads. The prelude
//! re-exports it.
//!
//! - [`scenario`]: personas of weighted tasks ([`scenario::ScenarioDef`],
//!   `task!`), and the built-in `http-get`; [`think`]: pauses between tasks;
//!   [`selection`]: which scenarios a run uses (`--scenario`, `--path`, `--think`).
//! - [`vu`]: the virtual user a task is handed, and its data between tasks.
//! - [`request`]: a request built (headers, query, bodies, timeout,
//!   redirects, checks, [`capture`]s); [`send`]: sent over the user's client,
//!   timed, judged and recorded; [`reply`]: what came back.
//! - [`feeder`]: rows of data for users ([`dealer`]: dealt by the manager in a
//!   distributed run); [`measure`]: timed flows and counters;
//!   [`setup`]: the run's setup; [`persona`]: what a scenario's users share.
//! - [`task_error`]: why a task ended early, and how that counts.
//! - [`context`]: what a user's requests need from the run, and what each user
//!   keeps; [`runner`]: one task run on one user (how the engine calls tasks).

pub mod capture;
pub mod context;
pub mod dealer;
pub mod feeder;
pub mod measure;
pub mod persona;
pub mod reply;
pub mod request;
pub mod runner;
pub mod scenario;
pub mod selection;
pub mod send;
pub mod setup;
pub mod task_error;
pub mod think;
pub mod vu;
