//! Runs a shape on goose in this process: builds the test plan, ticks the
//! aggregator every second, applies stop rules, and stops goose when told to.

use crate::distributed::WorkerSummary;
use crate::live::LiveRun;
use crate::metrics::{Aggregator, FinalSecond, Recorder};
use crate::scenario::ScenarioDef;
use crate::shape::Shape;
use crate::stress::BreakingPoint;
use crate::threshold::Rule;
use crate::Error;
use goose::client::GooseClientBuilder;
use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::GooseAttack;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// What to run.
pub struct RunOptions {
    pub shape: Shape,
    pub host: String,
    pub scenarios: Vec<ScenarioDef>,
    pub rules: Vec<Rule>,
    pub abort_on_fail: bool,
    pub request_timeout_secs: u64,
}

/// What a run leaves: everything measured, and why it ended.
pub struct RunOutcome {
    pub aggregator: Aggregator,
    pub elapsed_secs: f64,
    pub interrupted: bool,
    /// Why the run stopped before its plan ended, if it did.
    pub stopped_by: Option<String>,
    pub breaking_point: Option<BreakingPoint>,
    /// Per worker figures of a distributed run (empty for a local run).
    pub workers: Vec<WorkerSummary>,
}

/// What observers see once a second.
pub struct Tick<'a> {
    pub second: u64,
    pub elapsed_secs: f64,
    pub aggregator: &'a Aggregator,
    pub finalized: &'a [FinalSecond],
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: Once = Once::new();

/// Ctrl-C and SIGTERM: the first stops the run gracefully (results still
/// written); a second exits at once. Installed before goose's own handler,
/// which then stands aside.
pub fn install_interrupt_handler() {
    HANDLER.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                eprintln!("\nloadgen: second interrupt, exiting now");
                std::process::exit(130);
            }
            eprintln!("\nloadgen: interrupted, stopping users and writing results (again to quit at once)");
            goose::trigger_killswitch("interrupted");
        });
    });
}

/// Stops the run as Ctrl-C does (for a dashboard that reads keys in raw mode).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    goose::trigger_killswitch("interrupted");
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Checks the target accepts connections, so a wrong host fails in seconds.
pub async fn preflight(host: &str) -> Result<(), Error> {
    let url = reqwest::Url::parse(host)
        .map_err(|e| Error::Usage(format!("--host '{host}' is not a URL: {e}")))?;
    let addr = match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        _ => {
            return Err(Error::Usage(format!(
                "--host '{host}' needs a host name, as in http://127.0.0.1:8080"
            )))
        }
    };
    let connect = tokio::net::TcpStream::connect(addr.clone());
    match tokio::time::timeout(Duration::from_secs(3), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Unreachable(format!(
            "cannot connect to {addr} ({host}): {e}"
        ))),
        Err(_) => Err(Error::Unreachable(format!(
            "no answer from {addr} ({host}) within 3 s"
        ))),
    }
}

pub(crate) fn goose_attack(
    opts: &RunOptions,
    recorder: &Arc<Recorder>,
) -> Result<GooseAttack, Error> {
    let config_err =
        |e: goose::GooseError| Error::Usage(format!("goose refused the configuration: {e:?}"));
    let config = GooseConfiguration::parse_args_default::<&str>(&[]).map_err(config_err)?;
    let mut attack = GooseAttack::initialize_with_config(config).map_err(config_err)?;
    attack = *attack
        .set_default(GooseDefault::Host, opts.host.as_str())
        .map_err(config_err)?;
    attack = *attack
        .set_default(GooseDefault::TestPlan, opts.shape.goose_plan().as_str())
        .map_err(config_err)?;
    let timeout = opts.request_timeout_secs.to_string();
    attack = *attack
        .set_default(GooseDefault::Timeout, timeout.as_str())
        .map_err(config_err)?;
    for flag in [
        GooseDefault::NoMetrics,
        GooseDefault::NoPrintMetrics,
        GooseDefault::NoTelnet,
    ] {
        attack = *attack.set_default(flag, true).map_err(config_err)?;
    }
    attack = *attack
        .set_default(GooseDefault::Quiet, 1usize)
        .map_err(config_err)?;
    // One client shared by every user (goose's default builds one per user,
    // ~100 KB each), so idle users cost little and connections are pooled.
    let client = GooseClientBuilder::new()
        .without_cookies()
        .timeout(Duration::from_secs(opts.request_timeout_secs))
        .user_agent(concat!("loadgen/", env!("CARGO_PKG_VERSION")));
    attack = attack
        .set_client_builder_without_cookies(client)
        .map_err(config_err)?;
    for def in &opts.scenarios {
        attack = attack.register_scenario(def.to_goose(recorder).map_err(Error::Usage)?);
    }
    Ok(attack)
}

/// Runs the shape to its end (or until stopped) and returns what was measured.
/// `on_tick` is called once a second, after the second is aggregated.
pub async fn run(
    opts: RunOptions,
    mut on_tick: impl FnMut(&Tick) + Send + 'static,
) -> Result<RunOutcome, Error> {
    install_interrupt_handler();
    let recorder = Arc::new(Recorder::new());
    let attack = goose_attack(&opts, &recorder)?;
    let live = Arc::new(Mutex::new(LiveRun::new(
        &opts.shape,
        &opts.rules,
        opts.abort_on_fail,
    )));
    let started = Instant::now();
    let ticker = {
        let (live, recorder) = (live.clone(), recorder.clone());
        tokio::spawn(async move {
            let mut second = 0u64;
            loop {
                tokio::time::sleep_until((started + Duration::from_secs(second + 1)).into()).await;
                let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
                live.ingest(&recorder.drain(second));
                let finalized = live.close_through(second, started.elapsed().as_secs_f64());
                if let Some(reason) = &live.stopped_by {
                    goose::trigger_killswitch(reason);
                }
                if interrupted() {
                    goose::trigger_killswitch("interrupted");
                }
                on_tick(&Tick {
                    second,
                    elapsed_secs: started.elapsed().as_secs_f64(),
                    aggregator: &live.aggregator,
                    finalized: &finalized,
                });
                second += 1;
            }
        })
    };

    let result = attack.execute().await;
    ticker.abort();
    let _ = ticker.await;
    let elapsed_secs = started.elapsed().as_secs_f64();
    goose::reset_killswitch();
    if let Err(e) = result {
        return Err(Error::Run(format!("goose failed: {e:?}")));
    }
    let mut live = Arc::try_unwrap(live)
        .map_err(|_| Error::Run("ticker still running".into()))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    // The last, partial second: whatever was recorded after the final tick.
    let last = live.aggregator.series.last().map_or(0, |p| p.second + 1);
    live.ingest(&recorder.drain(last));
    live.close_through(last, elapsed_secs);
    Ok(RunOutcome {
        breaking_point: live.breaking_point(),
        stopped_by: live.stopped_by,
        aggregator: live.aggregator,
        elapsed_secs,
        interrupted: interrupted(),
        workers: vec![],
    })
}
