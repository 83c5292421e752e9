//! `loadgen new DIR`: a new load-test crate that builds as it stands: a
//! Cargo.toml on this framework (by path), the framework's own Cargo.lock (the
//! same versions, so its dependencies are not resolved anew), the workspace's
//! release profile, a `.cargo/config.toml` sharing the framework's target
//! folder (so the first build reuses what is built), a scenario to start
//! from, and a README.

use crate::cli::NewArgs;
use crate::error::exit;
use crate::Error;
use std::path::{Path, PathBuf};

/// The framework's sources and build, where this binary was built from.
const FRAMEWORK: &str = env!("CARGO_MANIFEST_DIR");
/// The workspace's lock file: the versions the framework is built and tested with.
const LOCK: &str = include_str!("../../../Cargo.lock");

pub fn new(args: &NewArgs) -> Result<u8, Error> {
    let dir = &args.dir;
    if dir.exists() && std::fs::read_dir(dir).map_or(true, |mut d| d.next().is_some()) {
        return Err(Error::Usage(format!(
            "{} exists and is not empty: give a new folder",
            dir.display()
        )));
    }
    let name = match &args.name {
        Some(n) => n.clone(),
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "load-test".into()),
    };
    let crate_name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if crate_name.is_empty() || !crate_name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(Error::Usage(format!(
            "'{name}' cannot name a crate: give --name starting with a letter"
        )));
    }
    let framework = PathBuf::from(FRAMEWORK);
    let target = framework
        .parent()
        .map_or_else(|| framework.join("target"), |w| w.join("target"));
    let files = [
        ("Cargo.toml", cargo_toml(&crate_name, &framework)),
        ("Cargo.lock", LOCK.to_string()),
        (".cargo/config.toml", format!(
            "# Share the framework's build: the first build reuses its compiled dependencies.\n[build]\ntarget-dir = {:?}\n",
            target.display().to_string()
        )),
        ("src/main.rs", MAIN.to_string()),
        ("README.md", readme(&crate_name)),
        (".gitignore", "/target\n".to_string()),
    ];
    for (file, text) in files {
        write(&dir.join(file), &text)?;
    }
    println!(
        "Created {crate_name} in {}.\nRun it:  cd {} && cargo run --release -- run plan:\"10,10s;10,20s\" --host http://127.0.0.1:8080\n\
         The first build shares {} (about 2-3 minutes on 2 cores when the framework's release build is there, 6-8 from nothing); a rebuild after an edit takes seconds.",
        dir.display(),
        dir.display(),
        target.display()
    );
    Ok(exit::PASSED)
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::Usage(format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::write(path, text)
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))
}

fn cargo_toml(name: &str, framework: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2021"

[dependencies]
loadgen = {{ path = {framework:?} }}

# As the framework's workspace builds it: compiled dependencies are shared.
[profile.release]
debug = 1

# A workspace of its own, wherever it is created (even inside another).
[workspace]
"#,
        framework = framework.display().to_string()
    )
}

fn readme(name: &str) -> String {
    format!(
        "# {name}\n\nA load test on loadgen. `src/main.rs` holds the scenarios.\n\n\
         ```sh\ncargo run --release -- run plan:\"10,10s;10,20s\" --host http://127.0.0.1:8080\n\
         cargo run --release -- run stages --users 500 --duration 5m --host https://staging.example.com --threshold 'p95<300ms'\n```\n"
    )
}

const MAIN: &str = r#"//! A load test: scenarios of users, handed to loadgen's command line.

use loadgen::prelude::*;

/// A user that reads an item now and then.
async fn read_item(mut vu: Vu<'_>) -> TaskResult {
    let id = rand::random_range(1..=100);
    vu.get(format!("/items/{id}"))
        .name("/items/{id}")
        .expect_any(&[200, 404])
        .send()
        .await?;
    Ok(())
}

/// Logs in once per user and keeps the token for its requests.
async fn log_in(mut vu: Vu<'_>) -> TaskResult {
    let user = vu.id();
    vu.post("/login")
        .json(json!({ "user": format!("user{user}") }))
        .capture("token", json("/token"))
        .send()
        .await?;
    if let Some(token) = vu.var("token").map(str::to_string) {
        vu.set_header("authorization", format!("Bearer {token}"));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let reader = ScenarioDef::new("reader")
        .think(Duration::from_secs(1), Duration::from_secs(3))
        .on_start("log in", task!(log_in))
        .task("read an item", 1, task!(read_item));
    App::new().scenario(reader).main()
}
"#;
