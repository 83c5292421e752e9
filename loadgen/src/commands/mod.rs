//! One module per CLI command.

pub mod check;
pub mod conclude;
pub mod progress;
pub mod run;
pub mod shapes;
