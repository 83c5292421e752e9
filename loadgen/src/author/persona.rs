//! What every user of a scenario shares at run time: the scenario's name
//! (each request is counted under it too) and the headers its requests carry.

use std::sync::Arc;

/// What every user of a scenario shares: its name (each request is counted
/// under it too) and the headers its requests carry.
pub(crate) struct Persona {
    pub name: Arc<str>,
    pub headers: Vec<(String, String)>,
}
