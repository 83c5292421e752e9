//! The run plan: every option of `run` and `manager` checked and typed once,
//! before anything starts. The commands, the engine and the reports read the
//! plan; nothing reads the command line again.

use crate::author::scenario::ScenarioDef;
use crate::author::selection::ScenarioSelection;
use crate::author::think::Think;
use crate::cli::{RunArgs, ScaleArgs};
use crate::client::settings::{check_local_ips, parse_local_ips, ConnectTo, TlsSettings};
use crate::client::tls::TlsContext;
use crate::client::ClientSettings;
use crate::engine::target;
use crate::engine::LoadSpec;
use crate::faults::FaultAction;
use crate::judge::{self, recovery, Rule};
use crate::observe::ObservePlan;
use crate::report::summary::{RunConfig, Summary};
use crate::shape::{limits, LoadModel, Shape};
use crate::{clock, units, Error};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::SystemTime;

/// Everything a run will do, from `loadgen run` (or `manager`) flags.
pub struct RunPlan {
    /// The shape as named on the command line (`stages`, `plan:...`).
    pub shape_text: String,
    /// The shape to run: scaled by --users/--duration, stop-rule flags applied.
    pub shape: Shape,
    /// --users and --duration as given (`None`: the shape's own).
    pub users: Option<u64>,
    pub duration_secs: Option<u64>,
    /// What every load generator needs (workers receive it whole).
    pub load: LoadSpec,
    /// The scenarios `load.selection` resolves to here.
    pub scenarios: Vec<ScenarioDef>,
    pub profile: String,
    /// The profile's rules, then --threshold's (or, with neither, the
    /// no-threshold rule: `implicit_rule`).
    pub rules: Vec<Rule>,
    /// `rules` is only `judge::profile::NO_THRESHOLD_RULE`, as no threshold was given.
    pub implicit_rule: bool,
    pub abort_on_fail: bool,
    /// --abort-when: conditions that stop the run once they held for their window.
    pub abort_when: Vec<Rule>,
    /// --at: commands run at their moment of the run.
    pub faults: Vec<FaultAction>,
    /// --recovery-baseline and --recovery-hold: how each fault's recovery is judged.
    pub recovery: recovery::Windows,
    /// --host; `None` starts the bundled target.
    pub host: Option<String>,
    /// The run folder.
    pub out: PathBuf,
    pub display: DisplayMode,
    /// --baseline, read and checked before the run.
    pub baseline: Option<Baseline>,
    /// --prometheus, --scrape and --scrape-metric.
    pub observe: ObservePlan,
    /// --control and --control-token: where the run may be steered from.
    pub control: Option<ControlPlan>,
}

/// Where the control API and page listen, and the token they require.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlPlan {
    pub addr: std::net::SocketAddr,
    pub token: Option<String>,
}

impl ControlPlan {
    /// `--control PORT` (on 127.0.0.1) or `--control IP:PORT`; off loopback a
    /// token is required.
    pub fn parse(addr: &str, token: Option<&str>) -> Result<ControlPlan, String> {
        let addr = match addr.parse::<u16>() {
            Ok(port) => std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Err(_) => addr.parse().map_err(|_| {
                format!(
                    "--control '{addr}' is not a PORT or IP:PORT to listen on \
                     (e.g. 8089 for 127.0.0.1:8089, or 0.0.0.0:8089 with --control-token)"
                )
            })?,
        };
        let token = token.filter(|t| !t.is_empty()).map(str::to_string);
        if !addr.ip().is_loopback() && token.is_none() {
            return Err(format!(
                "--control {addr} is reachable from the network: set --control-token (or LOADGEN_CONTROL_TOKEN) so only those who have it can steer the run"
            ));
        }
        if let Some(t) = &token {
            if t.len() < 8 || t.chars().any(|c| !c.is_ascii_graphic()) {
                return Err(
                    "--control-token must be at least 8 printable characters, no spaces".into(),
                );
            }
        }
        Ok(ControlPlan { addr, token })
    }
}

/// What a person sees while the run goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisplayMode {
    /// The live dashboard (stdout is a terminal, or --tui); else status lines.
    pub dashboard: bool,
    /// Seconds between status lines (also when the dashboard cannot start).
    pub status_every_secs: u64,
}

/// An earlier run to compare with at the end.
pub struct Baseline {
    pub path: PathBuf,
    pub summary: Summary,
}

impl RunPlan {
    /// Checks every flag; an error names the flag and what is wrong (exit 2).
    pub fn from_args(args: &RunArgs, registered: &[ScenarioDef]) -> Result<RunPlan, Error> {
        let mut shape = scaled_shape(&args.shape, &args.scale)?;
        if let Some(stop) = shape.stop.as_mut() {
            if let Some(p99) = &args.stop_p99 {
                stop.max_p99_us = units::parse_time_us(p99)
                    .map_err(|e| Error::Usage(format!("--stop-p99: {e}")))?
                    as u64;
            }
            if let Some(rate) = &args.stop_error_rate {
                stop.max_error_rate = units::parse_rate(rate)
                    .map_err(|e| Error::Usage(format!("--stop-error-rate: {e}")))?;
            }
        }
        let profile = args.judge.profile.clone().unwrap_or_else(|| {
            if args.host.is_some() {
                "none"
            } else {
                "reference-10k"
            }
            .to_string()
        });
        let mut rules = judge::rules(&profile, &args.judge.thresholds).map_err(Error::Usage)?;
        let implicit_rule = rules.is_empty() && !args.allow_failures;
        if implicit_rule {
            rules.push(Rule::parse(judge::profile::NO_THRESHOLD_RULE).map_err(Error::Usage)?);
        }
        let abort_when = args
            .abort_when
            .iter()
            .map(|text| abort_rule(text))
            .collect::<Result<Vec<_>, _>>()?;
        let faults = args
            .at
            .chunks(2)
            .map(|pair| FaultAction::parse(&pair[0], &pair[1], shape.total_secs()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Usage)?;
        let recovery =
            recovery::Windows::parse(Some(&args.recovery_baseline), Some(&args.recovery_hold))
                .map_err(Error::Usage)?;
        let think = args
            .think
            .as_deref()
            .map(Think::parse)
            .transpose()
            .map_err(|e| Error::Usage(format!("--think: {e}")))?;
        let (max_users, max_queue) = open_limits(args, &shape, think.is_some())?;
        let load = LoadSpec {
            selection: ScenarioSelection {
                names: args.scenarios.clone(),
                paths: args.paths.clone(),
                think,
            },
            client: ClientSettings {
                connections: args.connections,
                max_body_bytes: args.max_body,
                http: args.http,
                tls: TlsSettings {
                    ca: args.ca.clone(),
                    insecure: args.insecure,
                    client_cert: args.client_cert.clone(),
                    client_key: args.client_key.clone(),
                },
                connect_to: args
                    .connect_to
                    .iter()
                    .map(|c| ConnectTo::parse(c))
                    .collect::<Result<_, _>>()
                    .map_err(Error::Usage)?,
                compress: args.compress,
                local_ips: match &args.local_ips {
                    Some(spec) => {
                        let ips = parse_local_ips(spec).map_err(Error::Usage)?;
                        check_local_ips(&ips).map_err(Error::Usage)?;
                        ips
                    }
                    None => Vec::new(),
                },
            },
            max_users,
            max_queue,
            request_timeout_ms: args.timeout,
            graceful_stop_ms: args.graceful_stop,
            headers: args
                .headers
                .iter()
                .map(|h| parse_header(h))
                .collect::<Result<_, _>>()?,
        };
        if let Some(host) = &args.host {
            target::check_host(host).map_err(Error::Usage)?;
        }
        // The TLS files are read now: a bad --ca or key is exit 2, before anything runs.
        TlsContext::new(&load.client.tls, load.client.http).map_err(Error::Usage)?;
        let scenarios = load.selection.resolve(registered).map_err(Error::Usage)?;
        let baseline = match &args.baseline {
            Some(path) => Some(Baseline {
                path: path.clone(),
                summary: Summary::read(path)?,
            }),
            None => None,
        };
        let out = args.out.clone().unwrap_or_else(|| {
            PathBuf::from("reports").join(format!(
                "{}-{}",
                clock::compact(SystemTime::now()),
                shape.name
            ))
        });
        let observe = ObservePlan::parse(
            args.prometheus.as_deref(),
            &args.scrape,
            &args.scrape_metrics,
        )
        .map_err(Error::Usage)?;
        let control = args
            .control
            .as_deref()
            .map(|addr| ControlPlan::parse(addr, args.control_token.as_deref()))
            .transpose()
            .map_err(Error::Usage)?;
        let display = DisplayMode {
            dashboard: args.tui || (!args.headless && std::io::stdout().is_terminal()),
            status_every_secs: args.status_every.max(1),
        };
        Ok(RunPlan {
            shape_text: args.shape.clone(),
            shape,
            users: args.scale.users,
            duration_secs: args.scale.duration,
            load,
            scenarios,
            profile,
            implicit_rule,
            rules,
            abort_on_fail: args.abort_on_fail,
            abort_when,
            faults,
            recovery,
            host: args.host.clone(),
            out,
            display,
            baseline,
            observe,
            control,
        })
    }
}

impl RunPlan {
    /// The run's configuration as summary.json records it.
    pub fn config(&self, host: &str, bundled_target: bool) -> RunConfig {
        RunConfig {
            shape: self.shape_text.clone(),
            host: host.to_string(),
            bundled_target,
            scenarios: self.scenarios.iter().map(|s| s.name.clone()).collect(),
            users: self.users,
            duration_secs: self.duration_secs,
            profile: self.profile.clone(),
            rules: self.rules.iter().map(|r| r.text.clone()).collect(),
            abort_on_fail: self.abort_on_fail,
            abort_when: self.abort_when.iter().map(|r| r.text.clone()).collect(),
            think: self.load.selection.think.map(|t| t.to_string()),
            connections: self.load.client.connections,
            http: self.load.client.http,
            insecure: self.load.client.tls.insecure,
            ca: self
                .load
                .client
                .tls
                .ca
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            client_cert: self.load.client.tls.client_cert.is_some(),
            connect_to: self
                .load
                .client
                .connect_to
                .iter()
                .map(|c| format!("{}:{}:{}", c.host, c.port, c.to))
                .collect(),
            compress: self.load.client.compress,
        }
    }
}

/// A named, planned or rate shape, scaled by --users or --rate and --duration,
/// checked. `--rate` runs a named shape as an open model.
pub fn scaled_shape(name: &str, scale: &ScaleArgs) -> Result<Shape, Error> {
    fn flag(flag: &'static str) -> impl Fn(String) -> Error {
        move |e| Error::Usage(format!("{flag}: {e}"))
    }
    if let Some(users) = scale.users {
        limits::check_level(LoadModel::Closed, users).map_err(flag("--users"))?;
    }
    if let Some(rate) = scale.rate {
        limits::check_level(LoadModel::Open, rate).map_err(flag("--rate"))?;
    }
    if let Some(secs) = scale.duration {
        limits::check_secs(secs).map_err(flag("--duration"))?;
    }
    let shape = Shape::named(name).map_err(Error::Usage)?;
    if shape.model == LoadModel::Open && scale.users.is_some() {
        return Err(Error::Usage(format!(
            "--users scales users, and '{name}' is a rate: scale it with --rate"
        )));
    }
    let shape = match scale.rate {
        Some(rate) => shape.opened(rate).scaled(None, scale.duration),
        None => shape.scaled(scale.users, scale.duration),
    };
    shape.validate().map_err(Error::Usage)?;
    Ok(shape)
}

/// `--header 'Name: value'`: a token name, a value without line breaks.
fn parse_header(text: &str) -> Result<(String, String), Error> {
    let bad = |why: &str| Error::Usage(format!("--header '{text}': {why} (write 'Name: value')"));
    let (name, value) = text.split_once(':').ok_or_else(|| bad("no ':'"))?;
    let name = name.trim();
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(bad("the name is not a header name"));
    }
    if value.contains(['\r', '\n']) {
        return Err(bad("the value has a line break"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// An `--abort-when` rule: judged on each second of the series (all requests',
/// or the one it names), so it is no recovery.
fn abort_rule(text: &str) -> Result<Rule, Error> {
    let bad = |why: &str| Error::Usage(format!("--abort-when '{text}': {why}"));
    let rule = Rule::parse(text).map_err(|e| Error::Usage(format!("--abort-when: {e}")))?;
    if rule.metric == judge::rule::Metric::Recovery {
        return Err(bad(
            "recovery is judged when the run ends: give it as --threshold",
        ));
    }
    if !rule.metric.per_second() {
        return Err(bad(
            "an abort rule judges each second's p50, p95, p99, avg, max, error-rate or rps",
        ));
    }
    Ok(rule)
}

/// Most users the open model makes by default, whatever the rate: each holds
/// a connection, and 5,000 fit the usual open-file limits with room to spare.
pub const DEFAULT_MAX_USERS_CAP: u64 = 5_000;

/// `--max-users` and `--max-queue` with their defaults for an open shape;
/// flags that only the other model understands are usage errors.
fn open_limits(
    args: &RunArgs,
    shape: &Shape,
    think: bool,
) -> Result<(Option<u64>, Option<u64>), Error> {
    match shape.model {
        LoadModel::Closed => {
            if args.max_users.is_some() || args.max_queue.is_some() {
                return Err(Error::Usage(
                    "--max-users and --max-queue bound the open model: use a rate: shape or --rate"
                        .into(),
                ));
            }
            Ok((None, None))
        }
        LoadModel::Open => {
            if think {
                return Err(Error::Usage(
                    "--think paces the closed model's users; an open run is paced by its rate"
                        .into(),
                ));
            }
            if args.max_users == Some(0) {
                return Err(Error::Usage("--max-users must be at least 1".into()));
            }
            if let Some(users) = args.max_users {
                limits::check_level(LoadModel::Closed, users)
                    .map_err(|e| Error::Usage(format!("--max-users: {e}")))?;
            }
            if let Some(queue) = args.max_queue.filter(|q| *q > limits::MAX_QUEUE) {
                return Err(Error::Usage(format!(
                    "--max-queue: {queue} arrivals: at most {} may wait",
                    limits::MAX_QUEUE
                )));
            }
            let peak = shape.peak();
            let users = args
                .max_users
                .unwrap_or_else(|| peak.clamp(10, DEFAULT_MAX_USERS_CAP));
            let queue = args
                .max_queue
                .unwrap_or_else(|| peak.saturating_mul(10).clamp(100, limits::MAX_QUEUE));
            Ok((Some(users), Some(queue)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<RunPlan, Error> {
        let cli = Cli::try_parse_from([&["loadgen", "run"], args].concat()).unwrap();
        let Command::Run(run) = cli.command else {
            panic!("a run command")
        };
        RunPlan::from_args(&run, &[ScenarioDef::new("reader")])
    }

    #[test]
    fn control_listens_on_loopback_unless_a_token_guards_it() {
        let c = ControlPlan::parse("8089", None).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8089");
        assert!(ControlPlan::parse("0.0.0.0:8089", None)
            .unwrap_err()
            .contains("--control-token"));
        assert!(ControlPlan::parse("0.0.0.0:8089", Some("s3cret-token")).is_ok());
        assert!(ControlPlan::parse("0.0.0.0:8089", Some("short"))
            .unwrap_err()
            .contains("at least 8"));
        assert!(ControlPlan::parse("here", None)
            .unwrap_err()
            .contains("PORT or IP:PORT"));
    }

    #[test]
    fn flags_become_one_typed_plan() {
        let p = plan(&[
            "stress",
            "--users",
            "100",
            "--duration",
            "2m",
            "--think",
            "1s..3s",
            "--stop-p99",
            "250ms",
            "--profile",
            "api-slo",
            "--threshold",
            "rps>=5",
            "--headless",
            "--host",
            "http://127.0.0.1:1",
        ])
        .unwrap();
        assert_eq!((p.shape.peak(), p.shape.total_secs()), (100, 120));
        assert_eq!(p.shape.stop.unwrap().max_p99_us, 250_000);
        assert_eq!(p.rules.len(), 5);
        assert_eq!(p.load.selection.think.unwrap().max_us, 3_000_000);
        assert_eq!(p.scenarios[0].name, "reader");
        assert_eq!(
            p.display,
            DisplayMode {
                dashboard: false,
                status_every_secs: 5
            }
        );
        assert_eq!(p.host.as_deref(), Some("http://127.0.0.1:1"));
        assert!(p.out.to_string_lossy().ends_with("-stress"));
        let p = plan(&[
            "stages",
            "--duration",
            "5m",
            "--abort-when",
            "error-rate>1% for 30s",
            "--abort-when",
            "p99>2s for 10s for GET /books/{id}",
            "--recovery-hold",
            "20s",
            "--at",
            "2m",
            "redis-cli -p 6390 shutdown nosave",
            "--at",
            "150s",
            "true",
        ])
        .unwrap();
        assert_eq!(p.abort_when[0].window_secs, Some(30));
        assert_eq!(
            (p.abort_when[1].window_secs, p.abort_when[1].name.as_deref()),
            (Some(10), Some("/books/{id}"))
        );
        assert_eq!((p.recovery.hold_secs, p.recovery.baseline_secs), (20, 30));
        let at: Vec<_> = p
            .faults
            .iter()
            .map(|f| (f.at_secs, f.command.as_str()))
            .collect();
        assert_eq!(
            at,
            [(120, "redis-cli -p 6390 shutdown nosave"), (150, "true")]
        );
    }

    #[test]
    fn each_bad_flag_is_a_usage_error_naming_it() {
        for (args, says) in [
            (&["stages", "--think", "soon"][..], "--think"),
            (
                &["stress", "--stop-error-rate", "lots"],
                "--stop-error-rate",
            ),
            (
                &["stages", "--scenario", "writer"],
                "unknown scenario 'writer'",
            ),
            (&["stages", "--threshold", "p95 1s"], "bad threshold"),
            (
                &["stages", "--baseline", "/nonexistent.json"],
                "cannot read",
            ),
            (&["ramp"], "unknown shape"),
            (&["stages", "--abort-when", "errors>1% for"], "--abort-when"),
            (
                &["stages", "--abort-when", "recovery>30s"],
                "give it as --threshold",
            ),
            (
                &["stages", "--abort-when", "p90>1s for 5s"],
                "each second's p50",
            ),
            (&["stages", "--at", "1h", "true"], "the run ends at"),
            (&["stages", "--at", "10s", ""], "the command is empty"),
        ] {
            match plan(args) {
                Err(e @ Error::Usage(_)) => assert!(e.to_string().contains(says), "{e}"),
                Err(e) => panic!("{args:?}: not a usage error: {e}"),
                Ok(_) => panic!("{args:?} was accepted"),
            }
        }
    }
}
