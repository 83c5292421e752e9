//! One module per CLI command.

pub mod check;
pub mod compare;
pub mod conclude;
pub mod display;
pub mod manager;
pub mod new;
pub mod processes;
pub mod report;
pub mod run;
pub mod session;
pub mod shapes;
pub mod worker;
