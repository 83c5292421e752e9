//! The command line (clap): `run`, `shapes`, `check`, their flags and help.

use crate::client::{ConnectionModel, HttpMode};
use crate::shape::limits;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    version,
    about = "Load tests written in Rust on goose: named shapes, HDR latency, CI thresholds.",
    after_help = "Exit codes: 0 passed, 1 a threshold failed (or a stress breaking point below \
                  the rps goal, or a regression), 2 usage error (nothing run), 3 the run could \
                  not be carried out (e.g. target unreachable) or its reports not all \
                  written, 130 interrupted."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a load shape against a target and judge it.
    Run(RunArgs),
    /// Run a shape across worker processes: split users by capacity, merge results.
    Manager(ManagerArgs),
    /// Generate load for a manager (stops by itself if the manager is gone).
    Worker(WorkerArgs),
    /// Print a shape's plan: a table of stages and a users-over-time plot.
    Shapes(ShapesArgs),
    /// Judge a finished run's summary.json again, with these thresholds.
    Check(CheckArgs),
    /// Render a run folder's reports again from its summary.json.
    Report(ReportArgs),
    /// Compare a run with a baseline run; exit 1 on a regression beyond the limits.
    Compare(CompareArgs),
    /// Write a new load-test crate (Cargo.toml, a scenario, a README) that
    /// builds as it stands, sharing this framework's build.
    New(NewArgs),
}

#[derive(Args, Debug, Clone)]
pub struct NewArgs {
    /// The folder to create (it must not exist, or be empty).
    pub dir: PathBuf,
    /// The crate's name (default: the folder's name).
    #[arg(long)]
    pub name: Option<String>,
}

/// A span of time, at most `shape::limits::MAX_SECS` (30 days).
fn secs(text: &str) -> Result<u64, String> {
    let secs = crate::units::parse_secs(text)?;
    limits::check_secs(secs)?;
    Ok(secs)
}

/// A request timeout, in milliseconds: at least 1 ms, at most 30 days.
fn span_ms(text: &str) -> Result<u64, String> {
    let ms = crate::units::parse_span_ms(text)?;
    if ms == 0 || ms > limits::MAX_SECS * 1_000 {
        return Err(format!(
            "'{text}': from 1ms to {} days",
            limits::MAX_SECS / 86_400
        ));
    }
    Ok(ms)
}

/// A graceful stop, in milliseconds: 0 (cut at once) to 10 minutes.
fn grace_ms(text: &str) -> Result<u64, String> {
    let ms = crate::units::parse_span_ms(text)?;
    if ms > 600_000 {
        return Err(format!("'{text}': at most 10m"));
    }
    Ok(ms)
}

/// A body size limit: 1 KiB to 4 GiB.
fn body_bytes(text: &str) -> Result<u64, String> {
    let bytes = crate::units::parse_bytes(text)?;
    if !(1024..=4 << 30).contains(&bytes) {
        return Err(format!("'{text}': from 1KiB to 4GiB"));
    }
    Ok(bytes)
}

#[derive(Args, Debug, Clone)]
pub struct ScaleArgs {
    /// Peak users: the shape is scaled so its busiest stage has this many
    /// (at most 1,000,000 in a run, across all its workers).
    #[arg(long, conflicts_with = "rate")]
    pub users: Option<u64>,
    /// Open model: peak iterations started per second. Scales a rate: shape;
    /// runs a named shape (stages, stress, soak, spike) as arrivals, its levels
    /// becoming rates in the same proportions. At most 10,000,000.
    #[arg(long, value_name = "R")]
    pub rate: Option<u64>,
    /// Total run time; the shape's timeline is stretched to it (90s, 10m, 2h,
    /// 1h30m; at most 30 days, as is any plan).
    #[arg(long, value_parser = secs)]
    pub duration: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct JudgeArgs {
    /// A pass/fail rule, repeatable: 'p95<500ms', 'p99<=2s', 'avg<50ms',
    /// 'error-rate<1%', 'rps>=1000', 'p99<1s for GET /books/{id}'; with a window,
    /// judged on each second and failed when broken that long in a row:
    /// 'error-rate<1% for 30s', 'p95<300ms for 30s for GET /books/{id}';
    /// after faults (--at): 'recovery<30s'.
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<String>,
    /// Rules to start from: reference-10k (error-rate<1%, p50<2s, p95<5s, p99<10s,
    /// rps>1000), api-slo (error-rate<1%, p50<100ms, p95<500ms, p99<1s) or none.
    /// Default for `run`: reference-10k against the bundled service, none with
    /// --host (your service has its own goals: give them as --threshold).
    /// Default for `check`: the run's own rules, unless --threshold is given.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// stages | stress | soak | spike | plan:"USERS,DUR;USERS,DUR;..." (closed
    /// model: users) | rate:"RATE,DUR;RATE,DUR;..." (open model: iterations
    /// started per second, whatever the target does; latency is timed from each
    /// arrival's due time, so a stalled target shows)
    pub shape: String,
    /// The target's base URL: http or https (TLS on each user's own
    /// connection, the system's roots trusted; see --ca, --insecure); no query.
    /// A path in it prefixes every request: with http://host/api, --path /books
    /// requests http://host/api/books (an absolute URL in a task is used as is).
    /// Without it the bundled library service starts on embedded defaults on a
    /// free loopback port, and stops after the run.
    #[arg(long, env = "LOADGEN_HOST")]
    pub host: Option<String>,
    /// Run only this registered scenario (repeatable; default: all, by weight).
    /// Built in: `http-get`, which GETs each --path in turn.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// A path for the http-get scenario (repeatable).
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<String>,
    /// Every user's pause between tasks: fixed (10s, 250ms) or random in a range
    /// (3s..7s). Replaces each scenario's own think time; http-get has none without it.
    #[arg(long, value_name = "TIME|MIN..MAX")]
    pub think: Option<String>,
    #[command(flatten)]
    pub scale: ScaleArgs,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// With no threshold at all (no --threshold, profile none), a run still
    /// fails (exit 1) when more than 10% of its requests failed, saying so;
    /// this turns that off.
    #[arg(long)]
    pub allow_failures: bool,
    /// Stop as soon as a threshold fails (judged after the ramp-up; rps rules
    /// only at the end; a rule with a window once it is broken for its window).
    #[arg(long)]
    pub abort_on_fail: bool,
    /// Stop the run when this condition holds in each second of its window
    /// (repeatable), as a chaos experiment's abort criteria: 'error-rate>1% for
    /// 30s', 'p95>5s for 30s', 'rps<100 for 10s' (p50, p95, p99, avg, max,
    /// error-rate or rps of each second; without 'for' a single second fires it;
    /// 'p99>2s for 30s for GET /books/{id}' judges that request's seconds alone).
    /// The run fails (exit 1) and says which rule fired and when.
    #[arg(long = "abort-when", value_name = "RULE")]
    pub abort_when: Vec<String>,
    /// Run COMMAND (by sh -c) at WHEN from the run's start (repeatable), e.g.
    /// --at 2m 'redis-cli -p 6390 shutdown nosave'. Its output goes to
    /// faults/N-at-WHEN.log in the run folder; its exit status, and how the
    /// target recovered (judge it with --threshold 'recovery<30s'), to the reports.
    #[arg(long = "at", num_args = 2, value_names = ["WHEN", "COMMAND"], action = clap::ArgAction::Append)]
    pub at: Vec<String>,
    /// A fault (--at) counts as recovered at the first of this many seconds in
    /// a row back within its baseline's band (P99, error rate, dropped arrivals).
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub recovery_hold: String,
    /// The seconds before a fault whose measured seconds make its baseline
    /// (at least 3 of them must have answers).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub recovery_baseline: String,
    /// The run's folder (default: reports/<YYYYmmdd-HHMMSS>-<shape>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Plain progress lines instead of the live dashboard.
    #[arg(long, conflicts_with = "tui")]
    pub headless: bool,
    /// The live dashboard even when stdout is not a terminal (default: only when it is).
    #[arg(long)]
    pub tui: bool,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 5)]
    pub status_every: u64,
    /// per-user: each user holds its own keep-alive connection to each origin,
    /// opened on first use and reopened when the server closes it, as a browser
    /// tab or a Locust user does. shared: all users share one connection pool;
    /// raw throughput, but it does not model users' connections (each user
    /// still keeps its own cookies).
    #[arg(long, value_enum, default_value_t = ConnectionModel::PerUser, value_name = "MODEL")]
    pub connections: ConnectionModel,
    /// HTTP version: auto (ALPN decides on https, HTTP/2 when the server offers
    /// it; HTTP/1.1 on http), 1.1, or 2 (by ALPN on https; h2c with prior
    /// knowledge on http). Each user holds one HTTP/2 connection per origin and
    /// sends its requests as streams on it.
    #[arg(long, value_enum, default_value_t = HttpMode::Auto, value_name = "VERSION")]
    pub http: HttpMode,
    /// Trust this PEM file's CA certificates too, beside the system's roots
    /// (repeatable).
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Do not verify servers' certificates (said at the start and in
    /// summary.json). For a staging server's self-signed certificate; --ca is
    /// the safer way.
    #[arg(long)]
    pub insecure: bool,
    /// A client certificate (PEM chain) for mutual TLS; needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM); needs --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Send HOST:PORT's connections to ADDR:PORT instead (repeatable), keeping
    /// the Host header and the TLS name: a production host name tested against
    /// a staging address, as curl's --connect-to.
    #[arg(long = "connect-to", value_name = "HOST:PORT:ADDR:PORT")]
    pub connect_to: Vec<String>,
    /// Run the test as N (1-64) local worker processes of this binary under a manager
    /// on a private loopback port (a random token), started, watched and
    /// stopped by this command: all cores, and more users than one process's
    /// open files allow. `auto`: enough processes for the users' connections,
    /// at most the cores. The console, dashboard, reports and exit codes are a
    /// local run's, plus the workers.
    #[arg(long, value_name = "N|auto")]
    pub processes: Option<String>,
    /// Spread users' connections over these source addresses, round robin by
    /// user: 127.0.0.2-127.0.0.9, or a list a,b,c (like k6's --local-ips).
    /// One source address reaches one target address and port with at most
    /// ~28,000 connections (the local port range); more addresses, more
    /// connections. An address this machine cannot send from is exit 2.
    #[arg(long, value_name = "SPEC")]
    pub local_ips: Option<String>,
    /// A header on every request of the run, 'Name: value' (repeatable); a
    /// scenario's, a user's or a request's own header of the name replaces it.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    pub headers: Vec<String>,
    /// Ask for compressed answers (Accept-Encoding: gzip, br) on every request;
    /// bodies are decoded for checks (a compressed answer is decoded whether
    /// asked for or not), and bytes on the wire and decoded are both counted.
    #[arg(long)]
    pub compress: bool,
    /// Open model: the most users busy at once (like k6's maxVUs). Users are
    /// made as arrivals need them (each running its on-start tasks first).
    /// Default: the peak rate (one second of latency at the peak), from 10 to
    /// 5,000; at most 1,000,000.
    #[arg(long, value_name = "N")]
    pub max_users: Option<u64>,
    /// Open model: arrivals that may wait, in order, for a free user before new
    /// ones are dropped (counted as dropped, never silently skipped).
    /// Default: 10 seconds of the peak rate, from 100 to 10,000,000 (the most allowed).
    #[arg(long, value_name = "N")]
    pub max_queue: Option<u64>,
    /// Default request timeout: 500ms, 10s, 2m, or a number of seconds (1ms to
    /// 30 days); a request slower than this (or than its own `.timeout()`)
    /// fails as a timeout.
    #[arg(long, default_value = "60s", value_parser = span_ms, value_name = "TIME")]
    pub timeout: u64,
    /// What requests still in flight when the run ends (its plan is over, or
    /// Ctrl-C) get to finish: after it they are cut and counted as cancelled,
    /// so a run ends at most this long after its plan (like k6's gracefulStop).
    #[arg(long, default_value = "5s", value_parser = grace_ms, value_name = "TIME")]
    pub graceful_stop: u64,
    /// The largest response body read (64MiB, 512KiB, a number of bytes); a
    /// larger one fails its request (kind protocol), whichever the connection model.
    #[arg(long, default_value = "64MiB", value_parser = body_bytes, value_name = "SIZE")]
    pub max_body: u64,
    /// Stress stop rule: P99 over the last 10 s above this stops the run (e.g. 1s, 500ms).
    #[arg(long, value_name = "TIME")]
    pub stop_p99: Option<String>,
    /// Stress stop rule: error rate over the last 10 s above this stops the run (e.g. 1%).
    #[arg(long, value_name = "RATE")]
    pub stop_error_rate: Option<String>,
    /// Serve this run's live figures at http://ADDR/metrics in Prometheus text
    /// format while it runs (e.g. 127.0.0.1:9646; 0.0.0.0:9646 to be scraped
    /// from other machines): requests and failures per endpoint, latency
    /// (histogram and exact HDR quantiles), users, connections, thresholds.
    /// At the end it waits (at most 30 s) for one last scrape of the final figures.
    #[arg(long, value_name = "ADDR")]
    pub prometheus: Option<String>,
    /// Steer the run while it goes from an HTTP API and a web page at
    /// http://ADDR/ (PORT alone listens on 127.0.0.1): GET /api/state for the
    /// live figures, POST /api/control to set users (closed) or the rate
    /// (open) with a ramp, pause, resume or end the stage, e.g.
    /// curl -d '{"users": 500, "ramp": "30s"}' http://127.0.0.1:8089/api/control.
    /// Changes are marked on the run's timeline and the summary gives the
    /// plan that replays the session. Off loopback, --control-token is required.
    #[arg(long, value_name = "ADDR")]
    pub control: Option<String>,
    /// The token every control request must carry (Authorization: Bearer
    /// TOKEN, or ?token=TOKEN for the page); required when --control listens
    /// off loopback.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LOADGEN_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub control_token: Option<String>,
    /// Read the target's own Prometheus metrics from URL every second
    /// (repeatable: each API instance's /metrics; `target` for the run's own
    /// target's /metrics, e.g. the bundled service). In-flight requests, shed and
    /// rate-limited responses, breakers, pool use, CPU and memory are kept in
    /// summary.json's `server` series and drawn under the P99 in report.html
    /// and the dashboard. A target that stops answering is noted, not fatal.
    #[arg(long = "scrape", value_name = "URL")]
    pub scrape: Vec<String>,
    /// Another metric to keep from --scrape (repeatable), by its exact name;
    /// counters become per-second rates, gauges stay values.
    #[arg(long = "scrape-metric", value_name = "NAME")]
    pub scrape_metrics: Vec<String>,
    /// Compare with an earlier summary.json when the run ends (default limits of
    /// `loadgen compare`); a regression fails a run whose thresholds passed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct ShapesArgs {
    /// One shape to print (default: all four named shapes).
    pub shape: Option<String>,
    #[command(flatten)]
    pub scale: ScaleArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// A summary.json written by `loadgen run`.
    pub summary: PathBuf,
    #[command(flatten)]
    pub judge: JudgeArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// A run folder, or its summary.json. The reports are written next to it.
    pub run: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// The earlier run's summary.json.
    pub baseline: PathBuf,
    /// The run to judge: its summary.json (or its folder).
    pub current: PathBuf,
    /// How far each metric may move the wrong way, over the defaults:
    /// p95=10%, p99=15% (latency rise), error-rate=1pp (percentage points),
    /// rps=5% (throughput drop); p50 is shown but not judged unless set.
    /// `off` stops judging one. Each limit carries its unit (% or pp; a bare
    /// number is refused). Endpoints with fewer than 100 requests in either
    /// run are shown, not judged.
    #[arg(long, value_name = "LIMITS")]
    pub max_regression: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ManagerArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Start once this many workers have joined; no more join later.
    #[arg(long, value_name = "N", conflicts_with = "min_workers")]
    pub expect_workers: Option<u32>,
    /// Start once at least this many workers have joined, and give workers
    /// that join later a share at the next second (the users re-split
    /// exactly), as on Kubernetes, where replicas start in any order.
    #[arg(long, value_name = "N", env = "LOADGEN_MIN_WORKERS")]
    pub min_workers: Option<u32>,
    /// Where workers connect. Loopback by default; any other address is
    /// reachable from the network and needs --token.
    #[arg(long, default_value = "127.0.0.1:5557", value_name = "ADDR:PORT")]
    pub bind: String,
    /// Shared secret workers must present.
    #[arg(long, env = "LOADGEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Give up (exit 3) when the workers have not all joined within this time.
    #[arg(long, default_value = "60s", value_parser = secs)]
    pub join_timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    /// The manager's address.
    #[arg(long, value_name = "HOST:PORT")]
    pub manager: String,
    /// Relative share of users this worker takes (users split in proportion),
    /// 1 to 1,000,000.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=crate::distributed::protocol::MAX_CAPACITY))]
    pub capacity: u64,
    /// Shared secret the manager expects.
    #[arg(long, env = "LOADGEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A name for this worker in reports (default: host name and process id).
    #[arg(long)]
    pub name: Option<String>,
    /// Keep trying to reach the manager this long before giving up (exit 3).
    #[arg(long, default_value = "60s", value_parser = secs)]
    pub connect_timeout: u64,
    /// This worker's users' source addresses (127.0.0.2-127.0.0.9, or a
    /// list), over the run's --local-ips.
    #[arg(long, value_name = "SPEC")]
    pub local_ips: Option<String>,
}
