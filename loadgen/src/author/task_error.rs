//! Why a task ended early, and how that counts: a failed request (recorded
//! already), the end of the run (not counted), or the task's own error.

/// What a task returns.
pub type TaskResult = Result<(), TaskError>;

/// Why a task ended early. From a failed request (already recorded), from the
/// end of the run (not counted), or the task's own error (`?` on any error,
/// or [`TaskError::msg`]): counted as a `task` failure named after the task.
pub struct TaskError {
    ended: Ended,
    message: String,
}

/// How a task's error counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// A request failed and was recorded as such.
    Recorded,
    /// The task failed on its own: counted as a `task` failure.
    Failed,
    /// The run is over: nothing to count.
    Stopped,
}

impl TaskError {
    /// A task's own failure, with why.
    pub fn msg(message: impl Into<String>) -> TaskError {
        TaskError {
            ended: Ended::Failed,
            message: message.into(),
        }
    }

    pub(crate) fn recorded(message: String) -> TaskError {
        TaskError {
            ended: Ended::Recorded,
            message,
        }
    }

    pub(crate) fn stopped() -> TaskError {
        TaskError {
            ended: Ended::Stopped,
            message: "the run is over".into(),
        }
    }

    pub(crate) fn ended(&self) -> Ended {
        self.ended
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Any error a task meets (`r.json()?`, a parse, an I/O error) is its own
/// failure, with the error's causes in the message.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for TaskError {
    fn from(e: E) -> TaskError {
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(inner) = source {
            message = format!("{message}: {inner}");
            source = inner.source();
        }
        TaskError::msg(message)
    }
}

impl std::fmt::Debug for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskError({:?}: {})", self.ended, self.message)
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
