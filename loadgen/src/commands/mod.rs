//! One module per CLI command.

pub mod check;
pub mod run;
pub mod shapes;
