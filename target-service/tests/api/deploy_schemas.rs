//! The deploy files checked by their own tools and schemas, offline: promtool for the
//! Prometheus config and the dashboard's PromQL, the Compose specification's JSON
//! schema, Kubernetes' JSON schemas, and the Grafana dashboard against the metric
//! names loadgen and the service export. A test whose tool is missing says
//! `skipped:` and passes (`scripts/test` installs them).

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The Kubernetes release the manifests are validated against (kubernetes-validate
/// 1.32 to 1.37, as `scripts/test` pins it, all ship its schemas).
const KUBERNETES_VERSION: &str = "1.32.0";

/// loadgen's exporter (`--prometheus`): the names the dashboard may query.
const LOADGEN_METRICS: &[&str] = &[
    "loadgen_info",
    "loadgen_elapsed_seconds",
    "loadgen_requests_total",
    "loadgen_request_failures_total",
    "loadgen_request_duration_seconds_bucket",
    "loadgen_request_duration_seconds_sum",
    "loadgen_request_duration_seconds_count",
    "loadgen_latency_seconds",
    "loadgen_users",
    "loadgen_target_users",
    "loadgen_target_arrivals_per_second",
    "loadgen_connections",
    "loadgen_connections_opened_total",
    "loadgen_arrivals_dropped_total",
    "loadgen_arrivals_queued",
    "loadgen_threshold_passing",
    "loadgen_generator_lag_p99_seconds",
    "loadgen_generator_cpu_ratio",
    "loadgen_workers",
];

/// The library API's `/metrics`.
const SERVICE_METRICS: &[&str] = &[
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_sum",
    "http_request_duration_seconds_count",
    "http_requests_shed_total",
    "http_requests_rate_limited_total",
    "http_requests_in_flight",
    "circuit_breaker_open",
    "bulkhead_in_use",
    "db_pool_connections",
    "db_pool_max_connections",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs `tool` in the repository root; `None`, having said `skipped:`, when it is not
/// installed (a pyenv shim answers 127 for a command its Python lacks).
fn run(tool: &str, install: &str, args: &[&str]) -> Option<Output> {
    match Command::new(tool).args(args).current_dir(root()).output() {
        Ok(out) if out.status.code() != Some(127) => Some(out),
        Err(e) if e.kind() != ErrorKind::NotFound => panic!("{tool}: {e}"),
        _ => {
            eprintln!("skipped: {tool} is not installed ({install})");
            None
        }
    }
}

/// Panics with everything the tool said unless it succeeded; returns its stdout+stderr.
fn succeeded(tool: &str, out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{tool} failed ({}):\n{text}",
        out.status
    );
    text
}

const PROMTOOL: &str = "apt-get install --no-install-recommends prometheus";

#[test]
fn prometheus_config_passes_promtool() {
    let config = repo_file("deploy/prometheus/prometheus.yml");
    for line in [
        "job_name: loadgen",
        "targets: [\"loadgen-manager:9646\"]",
        "job_name: library-api",
        "names: [\"api\"]",
        "port: 8080",
        "scrape_interval: 1s",
    ] {
        assert!(config.contains(line), "prometheus.yml lacks `{line}`");
    }
    let local = repo_file("deploy/prometheus/local.yml");
    for line in [
        "targets: [\"127.0.0.1:9646\"]",
        "targets: [\"127.0.0.1:8081\", \"127.0.0.1:8082\"]",
    ] {
        assert!(local.contains(line), "local.yml lacks `{line}`");
    }
    for path in [
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/local.yml",
    ] {
        if let Some(out) = run("promtool", PROMTOOL, &["check", "config", path]) {
            succeeded("promtool check config", &out);
        }
    }
}

#[test]
fn compose_file_matches_the_compose_spec() {
    let compose = repo_file("docker-compose.yml");
    assert_eq!(compose.matches("profiles: [\"observe\"]").count(), 2);
    assert!(compose.contains("\"--prometheus\", \"0.0.0.0:9646\"]"));
    assert!(
        compose.contains("- \"9646\""),
        "the manager exposes its metrics port"
    );
    // Every file or folder the stack mounts from ./deploy exists.
    for line in compose.lines().map(str::trim) {
        if let Some(mount) = line.strip_prefix("- ./deploy/") {
            let source = mount.split(':').next().unwrap();
            assert!(root().join("deploy").join(source).exists(), "{line}");
        }
    }
    let install = "pip install 'check-jsonschema>=0.33,<1'";
    let args = [
        "--builtin-schema",
        "vendor.compose-spec",
        "docker-compose.yml",
    ];
    if let Some(out) = run("check-jsonschema", install, &args) {
        succeeded("check-jsonschema", &out);
    }
}

#[test]
fn kubernetes_manifests_match_the_api_schemas() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .map(|name| format!("deploy/k8s/{name}"))
        .collect();
    files.sort();
    let manager = repo_file("deploy/k8s/manager.yaml");
    assert!(manager.contains(r#""--prometheus", "0.0.0.0:9646""#));
    assert!(manager.contains("{ name: metrics, containerPort: 9646 }"));
    assert!(manager.contains("prometheus.io/scrape: \"true\""));
    // kubernetes-validate passes a file without resources, so count them.
    let resources: usize = files
        .iter()
        .map(|f| {
            repo_file(f)
                .lines()
                .filter(|l| l.starts_with("kind:"))
                .count()
        })
        .sum();
    let mut args = vec!["--strict", "--kubernetes-version", KUBERNETES_VERSION];
    args.extend(files.iter().map(String::as_str));
    let install = "pip install 'kubernetes-validate>=1.32,<1.38'";
    if let Some(out) = run("kubernetes-validate", install, &args) {
        let text = succeeded("kubernetes-validate", &out);
        assert_eq!(
            text.matches(" passed for resource ").count(),
            resources,
            "{text}"
        );
    }
}

#[test]
fn the_kubernetes_kustomization_renders_one_step_with_the_worker_count_in_one_place() {
    let rendered = std::env::temp_dir().join(format!("loadgen-k8s-{}.yaml", std::process::id()));
    // `replacements` came with kustomize 4: an older kubectl cannot render it.
    let Some(version) = run(
        "kubectl",
        "the kubectl package (with kustomize v5)",
        &["version", "--client"],
    ) else {
        return;
    };
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let kustomize = version
        .lines()
        .find_map(|l| l.strip_prefix("Kustomize Version: v"))
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    if kustomize.is_none_or(|major| major < 4) {
        eprintln!("skipped: kubectl's kustomize is older than v4 ({version})");
        return;
    }
    let Some(out) = run(
        "kubectl",
        "the kubectl package (with kustomize v5)",
        &["kustomize", root().join("deploy/k8s").to_str().unwrap()],
    ) else {
        return;
    };
    let text = succeeded("kubectl kustomize", &out);
    // The manager waits for as many workers as the Deployment runs.
    let replicas = text
        .split("\n---\n")
        .find(|doc| doc.contains("name: loadgen-worker") && doc.contains("kind: Deployment"))
        .and_then(|doc| {
            doc.lines()
                .find_map(|l| l.trim().strip_prefix("replicas: "))
        })
        .expect("the worker Deployment")
        .to_string();
    assert!(
        text.contains(&format!(
            "name: LOADGEN_MIN_WORKERS\n          value: \"{replicas}\""
        )),
        "{text}"
    );
    assert!(text.contains("kind: Job") && text.contains("persistentVolumeClaim"));
    std::fs::write(&rendered, &text).unwrap();
    let args = [
        "--strict",
        "--kubernetes-version",
        KUBERNETES_VERSION,
        rendered.to_str().unwrap(),
    ];
    let install = "pip install 'kubernetes-validate>=1.32,<1.38'";
    if let Some(out) = run("kubernetes-validate", install, &args) {
        let text = succeeded("kubernetes-validate", &out);
        assert_eq!(text.matches(" passed for resource ").count(), 5, "{text}");
    }
}

/// The index just past the quote or bracket that closes the one at `open` (quoted
/// label values inside `{...}` may hold any character).
fn past_closing(chars: &[char], open: usize) -> usize {
    let close = match chars[open] {
        '{' => '}',
        '[' => ']',
        '(' => ')',
        quote => quote,
    };
    let mut i = open + 1;
    while i < chars.len() && chars[i] != close {
        if chars[i] == '"' && close != '"' {
            i = past_closing(chars, i);
            continue;
        }
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// The metric names a PromQL expression selects: its identifiers, less functions
/// and aggregations (followed by `(`), keywords, the labels of `by (...)` and the
/// like, and whatever is inside `{...}`, `[...]` or quotes.
fn metric_names(expr: &str) -> Vec<String> {
    const GROUPING: &str = "by without on ignoring group_left group_right";
    // Aggregations too, as `sum by (x)(...)` puts the grouping before the `(`.
    const KEYWORDS: &str = "and or unless bool offset inf nan sum min max avg group \
                            stddev stdvar count count_values bottomk topk quantile";
    let chars: Vec<char> = expr.chars().collect();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' | '{' | '[' => i = past_closing(&chars, i),
            c if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if ident(c) => {
                let start = i;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let paren = (i..chars.len()).find(|&j| chars[j] != ' ');
                let called = paren.is_some_and(|j| chars[j] == '(');
                if GROUPING.split(' ').any(|g| g == word) {
                    if let (true, Some(j)) = (called, paren) {
                        i = past_closing(&chars, j);
                    }
                } else if !called && !KEYWORDS.split_whitespace().any(|k| k == word) {
                    names.push(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

#[test]
fn metric_names_reads_promql() {
    let expr = concat!(
        r#"histogram_quantile(0.99, sum by (le, method)(rate(a_bucket{x="}y",q=~"a|b"}[10s])))"#,
        " / on (job) group_left b offset 5m",
    );
    assert_eq!(metric_names(expr), ["a_bucket", "b"]);
    assert_eq!(metric_names("sum(rate(c[5s])) by (kind)"), ["c"]);
}

fn dashboard() -> Value {
    serde_json::from_str(&repo_file("deploy/grafana/loadgen.json")).expect("dashboard is JSON")
}

/// Every PromQL expression of the dashboard, with the panel it is in.
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap_or_default();
            exprs.push((panel["title"].to_string(), expr.to_string()));
        }
    }
    exprs
}

#[test]
fn dashboard_queries_prometheus_for_contract_metrics() {
    let dashboard = dashboard();
    assert_eq!(dashboard["refresh"], "5s");
    assert_eq!(dashboard["schemaVersion"], 39);
    assert_eq!(dashboard["uid"], "loadgen");
    let variables = dashboard["templating"]["list"].as_array();
    assert!(
        variables.is_none_or(Vec::is_empty),
        "no variables: {variables:?}"
    );
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        let title = &panel["title"];
        assert!(ids.insert(panel["id"].as_u64().expect("id")), "{title}: id");
        let grid = &panel["gridPos"];
        let right = grid["x"].as_u64().unwrap() + grid["w"].as_u64().unwrap();
        assert!(
            right <= 24 && grid["h"].as_u64().unwrap() > 0,
            "{title}: {grid}"
        );
        let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
        if panel["type"] == "row" {
            assert!(targets.is_empty(), "{title}: a row shows no data");
            continue;
        }
        assert_eq!(panel["datasource"]["uid"], "prometheus", "{title}");
        assert!(!targets.is_empty(), "{title}: no target");
        for target in targets {
            let expr = target["expr"].as_str().unwrap_or_default();
            assert!(!expr.trim().is_empty(), "{title}: a target without expr");
            let uid = &target["datasource"]["uid"];
            assert!(uid.is_null() || uid == "prometheus", "{title}: {uid}");
        }
    }
    let mut used = BTreeSet::new();
    for (title, expr) in dashboard_exprs(&dashboard) {
        for name in metric_names(&expr) {
            assert!(
                LOADGEN_METRICS.contains(&name.as_str())
                    || SERVICE_METRICS.contains(&name.as_str()),
                "{title}: `{name}` is not a metric loadgen or the service exports ({expr})"
            );
            used.insert(name);
        }
    }
    // The panels the dashboard exists for.
    for name in [
        "loadgen_requests_total",
        "loadgen_request_failures_total",
        "loadgen_latency_seconds",
        "loadgen_request_duration_seconds_bucket",
        "loadgen_users",
        "loadgen_threshold_passing",
        "loadgen_generator_lag_p99_seconds",
        "http_requests_total",
        "http_requests_in_flight",
        "http_requests_shed_total",
        "http_request_duration_seconds_bucket",
    ] {
        assert!(used.contains(name), "no panel shows {name}");
    }
}

#[test]
fn dashboard_queries_parse_as_promql() {
    // promtool parses PromQL in rule files: one recording rule per expression.
    let rules: Vec<Value> = dashboard_exprs(&dashboard())
        .into_iter()
        .enumerate()
        .map(|(i, (_, expr))| {
            let record = format!("dashboard:expr_{i}");
            serde_json::json!({"record": record, "expr": expr})
        })
        .collect();
    let file = std::env::temp_dir().join(format!(
        "loadgen-dashboard-{}.rules.json",
        std::process::id()
    ));
    let groups = serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]});
    std::fs::write(&file, groups.to_string()).unwrap();
    let out = run(
        "promtool",
        PROMTOOL,
        &["check", "rules", file.to_str().unwrap()],
    );
    std::fs::remove_file(&file).ok();
    if let Some(out) = out {
        succeeded("promtool check rules", &out);
    }
}

#[test]
fn grafana_provisioning_points_at_prometheus_and_the_dashboard() {
    let datasources = "deploy/grafana/provisioning/datasources/prometheus.yml";
    let providers = "deploy/grafana/provisioning/dashboards/loadgen.yml";
    let compose = repo_file("docker-compose.yml");
    assert!(compose.contains("./deploy/grafana/loadgen.json:/etc/grafana/dashboards/loadgen.json"));
    // Parsed by PyYAML (what Grafana reads is YAML; no YAML crate here), compared as JSON.
    let script = concat!(
        "import json, sys, yaml\n",
        "print(json.dumps([yaml.safe_load(open(f)) for f in sys.argv[1:]]))",
    );
    let install = "apt-get install python3-yaml, or pip install pyyaml";
    let Some(out) = run("python3", install, &["-c", script, datasources, providers]) else {
        return;
    };
    if String::from_utf8_lossy(&out.stderr).contains("No module named 'yaml'") {
        eprintln!("skipped: PyYAML is not installed ({install})");
        return;
    }
    succeeded("python3 yaml.safe_load", &out);
    let parsed: Value = serde_json::from_slice(&out.stdout).expect("PyYAML's answer as JSON");
    let source = &parsed[0]["datasources"][0];
    assert_eq!(source["uid"], "prometheus", "{source}");
    assert_eq!(source["type"], "prometheus", "{source}");
    assert_eq!(source["url"], "http://prometheus:9090", "{source}");
    let provider = &parsed[1]["providers"][0];
    assert_eq!(provider["type"], "file", "{provider}");
    assert_eq!(
        provider["options"]["path"], "/etc/grafana/dashboards",
        "{provider}"
    );
}
