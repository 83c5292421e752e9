//! One module per CLI command.

pub mod check;
pub mod compare;
pub mod conclude;
pub mod manager;
pub mod progress;
pub mod report;
pub mod run;
pub mod shapes;
pub mod worker;
