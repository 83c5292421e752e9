//! The CLI's failures and the exit codes CLI.md documents for them.

/// Exit codes: see `../shared/CLI.md`.
pub mod exit {
    pub const PASSED: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_RUN: u8 = 3;
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flag, rule, shape or file: nothing was run.
    #[error("{0}")]
    Usage(String),
    /// The target could not be reached.
    #[error("target unreachable: {0}")]
    Unreachable(String),
    /// The run could not be carried out.
    #[error("run failed: {0}")]
    Run(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Unreachable(_) | Error::Run(_) | Error::Io { .. } => exit::NOT_RUN,
        }
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
