//! The virtual user handed to scenario tasks: requests start here (see
//! [`super::request`]); what the user keeps between tasks (data, variables,
//! headers, its id) lives here; rows from feeders, timed flows and counters
//! are asked for here.

use super::context::{self, VuContext};
use super::feeder::{Fed, Row};
use super::measure::Measure;
use super::persona::Persona;
use super::request::Req;
use super::task_error::TaskError;
use goose::goose::{GooseMethod, GooseUser, GooseUserData};
use std::sync::Arc;

/// One virtual user, as a task sees it. Its requests go over its own
/// connections (or the shared pool, with `--connections shared`).
pub struct Vu<'a> {
    user: &'a mut GooseUser,
    ctx: Arc<VuContext>,
    persona: Arc<Persona>,
}

impl<'a> Vu<'a> {
    pub(crate) fn new(
        user: &'a mut GooseUser,
        ctx: Arc<VuContext>,
        persona: Arc<Persona>,
    ) -> Vu<'a> {
        Vu { user, ctx, persona }
    }

    pub fn get(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Get, path)
    }
    pub fn post(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Post, path)
    }
    pub fn put(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Put, path)
    }
    pub fn patch(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Patch, path)
    }
    pub fn delete(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Delete, path)
    }
    pub fn head(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Head, path)
    }

    pub fn request(&mut self, method: GooseMethod, path: impl Into<String>) -> Req<'_> {
        Req::new(self.user, &self.ctx, &self.persona, method, path.into())
    }

    /// This user's id: unique across the whole run (workers included), from 1.
    pub fn id(&mut self) -> u64 {
        let ctx = &self.ctx;
        *context::state(self.user)
            .id
            .get_or_insert_with(|| ctx.new_user_id())
    }

    /// The worker this user runs on (0 in a local run).
    pub fn worker(&self) -> u32 {
        self.ctx.worker
    }

    /// The scenario (persona) this user plays.
    pub fn scenario(&self) -> &str {
        &self.persona.name
    }

    /// A variable kept by a capture or `set_var` (a token, an id).
    pub fn var(&self, name: &str) -> Option<&str> {
        let state = self.user.get_session_data::<context::UserState>()?;
        state
            .vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn set_var(&mut self, name: &str, value: impl Into<String>) {
        let vars = &mut context::state(self.user).vars;
        let value = value.into();
        match vars.iter_mut().find(|(n, _)| n == name) {
            Some(pair) => pair.1 = value,
            None => vars.push((name.to_string(), value)),
        }
    }

    /// A header on every later request of this user (a session's token, say);
    /// set again, it replaces. A request's own header of the name wins.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        context::set_pair(&mut context::state(self.user).headers, name, value.into());
    }

    pub fn remove_header(&mut self, name: &str) {
        context::state(self.user)
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// The next row of a feeder registered with `App::feeder`. When it has
    /// run out, the feeder's policy decides: the run stops (this task ends,
    /// not counted), or the iteration fails (a `task` failure), or it starts over.
    /// In a distributed run a queue or unique feeder's row is dealt by the
    /// manager (one round trip), so each row goes to one user of the whole run.
    pub async fn feed(&mut self, feeder: &str) -> Result<Row, TaskError> {
        match self
            .ctx
            .feeders
            .next(feeder)
            .await
            .map_err(TaskError::msg)?
        {
            Fed::Row(row) => {
                self.ctx.recorder.count(&format!("feeder.{feeder}.rows"), 1);
                Ok(row)
            }
            Fed::Empty => {
                self.ctx
                    .recorder
                    .count(&format!("feeder.{feeder}.exhausted"), 1);
                Err(TaskError::msg(format!(
                    "feeder '{feeder}' has no rows left"
                )))
            }
            Fed::StopRun => {
                if !self.ctx.halt.is_cancelled() {
                    eprintln!("loadgen: feeder '{feeder}' has no rows left: stopping the run");
                    self.ctx
                        .recorder
                        .count(&format!("feeder.{feeder}.exhausted"), 1);
                    self.ctx.halt.cancel();
                }
                Err(TaskError::stopped())
            }
        }
    }

    /// Times a flow of several requests as one: `let flow = vu.measure("checkout");`
    /// ... `flow.done();` It is recorded under `FLOW checkout` (a failure if
    /// the task ends before `done()`); in the open model from the arrival's
    /// due time too.
    pub fn measure(&mut self, name: &str) -> Measure {
        let lag_us = context::state(self.user).lag_us;
        Measure::start(self.ctx.recorder.clone(), name, lag_us)
    }

    /// Adds `n` to a counter of this run (`orders_created`): summary.json's
    /// `counters`, judged by `count(name)>=N` or `rate(name)>R` (per second).
    pub fn count(&self, name: &str, n: u64) {
        self.ctx.recorder.count(name, n);
    }

    /// What the run's setup returned (`App::setup`), `null` without one.
    pub fn setup_data(&self) -> &serde_json::Value {
        &self.ctx.setup
    }

    /// Per-user data kept between tasks (a login token, an id).
    pub fn data<T: GooseUserData>(&self) -> Option<&T> {
        let state = self.user.get_session_data::<context::UserState>()?;
        state.data.as_ref()?.downcast_ref::<T>()
    }

    pub fn data_mut<T: GooseUserData>(&mut self) -> Option<&mut T> {
        let state = self.user.get_session_data_mut::<context::UserState>()?;
        state.data.as_mut()?.downcast_mut::<T>()
    }

    pub fn set_data<T: GooseUserData>(&mut self, data: T) {
        context::state(self.user).data = Some(Box::new(data));
    }
}
