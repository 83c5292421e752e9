//! `GET /openapi.json` says what the server does: schemathesis generates requests from
//! it (valid and invalid) and every check it has must pass. Skips without schemathesis
//! (`scripts/test` installs it with pip). Its per-operation settings are in
//! `schemathesis.toml` beside this file.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::socket::serve_with;

/// Examples per operation and phase: enough to find a disagreement, quick on 2 cores.
const MAX_EXAMPLES: &str = "25";

/// The schemathesis 4.x CLI (`schemathesis`, or `st` when it is schemathesis's): the
/// flags below are 4.x's (3.x spelled several differently).
fn schemathesis() -> Result<&'static str, String> {
    let output = |cmd: &str, arg: &str| {
        std::process::Command::new(cmd)
            .arg(arg)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let cmd = ["schemathesis", "st"]
        .into_iter()
        .find(|cmd| output(cmd, "--help").contains("OpenAPI"))
        .ok_or("schemathesis is not installed (pip install 'schemathesis>=4.32,<5')")?;
    let version = output(cmd, "--version");
    match version.trim().rsplit(' ').next() {
        Some(v) if v.starts_with("4.") => Ok(cmd),
        _ => Err(format!(
            "schemathesis 4.x is needed, found {:?}",
            version.trim()
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_disagreement() {
    let cmd = match schemathesis() {
        Ok(cmd) => cmd,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let served = serve_with(&[]).await;
    let login = r#"{"email":"librarian1@library.test","password":"loadgen-password"}"#;
    let r = served.send("POST", "/auth/login", &[], Some(login)).await;
    let token = r.body["token"]
        .as_str()
        .expect("librarian token")
        .to_string();
    // Hypothesis keeps examples in the working directory; give it a throwaway one.
    let dir = std::env::temp_dir().join(format!("ts-st-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/schemathesis.toml");
    let run = tokio::process::Command::new(cmd)
        .args(["--config-file", config, "--no-color"])
        .args(["run", &format!("http://{}/openapi.json", served.addr)])
        .args(["--checks", "all", "--max-examples", MAX_EXAMPLES])
        .args(["--generation-database", "none"])
        .args(["--request-timeout", "10"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("schemathesis finished within 240 s")
        .expect("schemathesis ran");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("schemathesis took {:?}", started.elapsed());
    assert!(
        out.status.success(),
        "schemathesis found disagreements:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
