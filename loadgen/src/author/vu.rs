//! The virtual user handed to scenario tasks: requests start here (see
//! [`super::request`]), and per-user data is kept here between tasks.

use super::context::{self, VuContext};
use super::request::Req;
use goose::goose::{GooseMethod, GooseUser, GooseUserData};
use std::sync::Arc;

/// One virtual user, as a task sees it. Its requests go over its own
/// connection (or the shared pool, with `--connections shared`).
pub struct Vu<'a> {
    user: &'a mut GooseUser,
    ctx: Arc<VuContext>,
}

impl<'a> Vu<'a> {
    pub fn new(user: &'a mut GooseUser, ctx: Arc<VuContext>) -> Vu<'a> {
        Vu { user, ctx }
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
    pub fn delete(&mut self, path: impl Into<String>) -> Req<'_> {
        self.request(GooseMethod::Delete, path)
    }

    pub fn request(&mut self, method: GooseMethod, path: impl Into<String>) -> Req<'_> {
        Req::new(self.user, &self.ctx, method, path.into())
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
