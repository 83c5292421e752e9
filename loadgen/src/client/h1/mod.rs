//! HTTP/1.1 for a user's own connection, from the user's own task.
//!
//! - [`wire`]: request heads, response heads and body framing, as bytes.
//! - [`conn`]: one connection: write a request, read its final response.

pub mod conn;
pub mod wire;
