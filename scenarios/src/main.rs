//! The `loadgen` binary: the bundled library-API load test handed to the CLI,
//! with the library service as the default target. Also the example of how a
//! user writes a load test crate of their own.

mod data;
mod library_user;

use loadgen::prelude::*;
use std::process::ExitCode;
use std::sync::Arc;

fn library_service() -> BundledTarget {
    BundledTarget {
        name: "library service".into(),
        ready_path: "/health/ready".into(),
        start: Arc::new(|listener, stop| {
            Box::pin(async move {
                let config = target_service::Config::from_env()?;
                target_service::serve(config, listener, stop).await
            })
        }),
    }
}

fn main() -> ExitCode {
    App::new()
        .scenario(library_user::reader())
        .scenario(library_user::member())
        .scenario(library_user::librarian())
        .bundled_target(library_service())
        .main()
}
