//! The author room: what a load test's author writes and reads. The prelude
//! re-exports it.
//!
//! - [`scenario`]: personas of weighted tasks ([`scenario::ScenarioDef`],
//!   `task!`), and the built-in `http-get`; [`think`]: pauses between tasks;
//!   [`selection`]: which scenarios a run uses (`--scenario`, `--path`, `--think`).
//! - [`vu`]: the virtual user a task is handed, and its data between tasks.
//! - [`request`]: a request built, sent over the user's client, timed,
//!   checked and recorded; [`reply`]: what came back.
//! - [`task_error`]: why a task ended early, and how that counts.
//! - [`context`]: what a user's requests need from the run, and what each user
//!   keeps; [`runner`]: one task run on one user (how the engine calls tasks).

pub mod context;
pub mod reply;
pub mod request;
pub mod runner;
pub mod scenario;
pub mod selection;
pub mod task_error;
pub mod think;
pub mod vu;
