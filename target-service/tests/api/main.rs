//! End-to-end tests of the library API, driven in-process through `app()`.
//!
//! Tests written with `on_both!` run on embedded SQLite and, when
//! `LOADGEN_TEST_DATABASE_URL` is set, on a fresh PostgreSQL database of their own.

mod helpers;

mod books;
mod cache;
mod connections;
mod deploy;
mod deploy_schemas;
#[cfg(feature = "etcd")]
mod etcd;
#[cfg(feature = "etcd")]
mod etcd_server;
mod events;
mod faults;
mod hostile;
mod isbn;
mod json_bodies;
mod live_config;
mod loans;
mod malformed;
mod members;
mod metrics;
mod openapi;
mod ops;
mod overload;
mod pgbouncer;
mod proxy;
mod redaction;
mod slow_bodies;
mod socket;
mod store_reads;
mod tokens;
