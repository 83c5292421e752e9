//! Careless and hostile input to the real binary: a summary.json whose
//! histogram lies (under a memory cap), a --host with a base path, and a disk
//! that fills up while the reports are written.

#[path = "../../loadgen/tests/support/hostile.rs"]
mod hostile;
mod support;

use axum::http::Uri;
use axum::Router;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::dist::limited;
use support::*;

fn baseline() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baselines/stages-50u-30s.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn check_refuses_a_histogram_declaring_4_gib_at_once() {
    let dir = out_dir("hostile-check");
    std::fs::create_dir_all(&dir).unwrap();
    let mut s = baseline();
    let (_, lie) = &hostile::lying_histograms()[0];
    s["endpoints"][0]["hdr"] = Value::from(hostile::b64(lie));
    let file = dir.join("summary.json");
    std::fs::write(&file, serde_json::to_vec(&s).unwrap()).unwrap();
    let mut check = loadgen();
    check.args(["check", file.to_str().unwrap()]);
    let started = Instant::now();
    let o = limited(&check, "-v 2000000").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("HDR"), "{}", stderr(&o));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A server that answers everything and keeps each request's target.
fn recording() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let app = Router::new().fallback(move |uri: Uri| {
        let keep = keep.clone();
        async move {
            keep.lock().unwrap().push(uri.to_string());
            "ok"
        }
    });
    (serve(app), seen)
}

#[test]
fn a_host_with_a_base_path_is_honoured_on_both_connection_models() {
    for model in ["per-user", "shared"] {
        let (host, seen) = recording();
        let out = out_dir(&format!("hostile-base-{model}"));
        let base = format!("{host}/base");
        let o = run(&[
            "run",
            "plan:1,0s;1,2s",
            "--host",
            &base,
            "--scenario",
            "http-get",
            "--path",
            "/x",
            "--path",
            "y?q=1",
            "--think",
            "200ms",
            "--connections",
            model,
            "--profile",
            "none",
            "--headless",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{model}: {}", stderr(&o));
        let seen = seen.lock().unwrap().clone();
        assert!(seen.len() >= 2, "{model}: {seen:?}");
        for target in &seen {
            assert!(
                target == "/base/x" || target == "/base/y?q=1",
                "{model}: requested {target}"
            );
        }
    }
}

/// A tmpfs of `kb` KiB mounted on a fresh folder; unmounted on drop.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(name: &str, kb: u64) -> Option<SmallDisk> {
        let dir = out_dir(name);
        std::fs::create_dir_all(&dir).unwrap();
        let size = format!("size={kb}k");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            println!(
                "skipped: cannot mount a tmpfs on {} (not root?)",
                dir.display()
            );
            return None;
        }
        Some(SmallDisk(dir))
    }

    /// Fills the disk but `free_kb`.
    fn fill_but(&self, free_kb: u64) {
        let df = Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&self.0)
            .output()
            .unwrap();
        let avail: u64 = String::from_utf8_lossy(&df.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df prints the space available");
        let filler = vec![0u8; (avail - free_kb * 1024) as usize];
        std::fs::write(self.0.join("filler"), filler).unwrap();
    }

    fn leftovers(&self, dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_that_fills_up_during_the_reports_is_exit_3_and_leaves_no_temporary_files() {
    let Some(disk) = SmallDisk::mount("hostile-full-run", 64) else {
        return;
    };
    // Room for the log and summary.json (a page each), not for report.html.
    disk.fill_but(12);
    let host = serve(known_latency_app_fast(Served::default()));
    let out = disk.0.join("run");
    let o = output(run_against("plan:2,0s;2,2s", &host, &out).args([
        "--scenario",
        "http-get",
        "--think",
        "100ms",
        "--headless",
    ]));
    assert_eq!(o.status.code(), Some(3), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("No space left"), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Aggregated"),
        "the table is still printed"
    );
    assert_eq!(disk.leftovers(&out), Vec::<String>::new());

    // `loadgen report` on a full disk: the same.
    let Some(disk) = SmallDisk::mount("hostile-full-report", 64) else {
        return;
    };
    let dir = disk.0.join("again");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_vec(&baseline()).unwrap(),
    )
    .unwrap();
    disk.fill_but(8);
    let o = run(&["report", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(disk.leftovers(&dir), Vec::<String>::new());
}
