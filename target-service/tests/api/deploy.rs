//! The stack files agree with each other and with the service (a line-based check:
//! no YAML parser is needed to see which services exist and how they are wired).

use std::collections::BTreeMap;
use std::path::PathBuf;

fn repo_file(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Top-level services of a compose file and the text of each service's block.
fn services(compose: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut in_services = false;
    let mut current: Option<String> = None;
    for line in compose.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_services = line.trim_end() == "services:";
            current = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 2 && line.trim_end().ends_with(':') && !line.trim().starts_with('#') {
            let name = line.trim().trim_end_matches(':').to_string();
            let previous = out.insert(name.clone(), String::new());
            assert!(previous.is_none(), "service {name} defined twice");
            current = Some(name);
        } else if let Some(name) = &current {
            let block = out.get_mut(name).unwrap();
            block.push_str(line);
            block.push('\n');
        }
    }
    out
}

#[test]
fn compose_wires_the_stack() {
    let compose = repo_file("docker-compose.yml");
    let services = services(&compose);
    for name in [
        "nginx",
        "api",
        "pgbouncer",
        "postgres",
        "redis",
        "rabbitmq",
        "etcd",
        "loadgen-manager",
        "loadgen-worker",
    ] {
        assert!(
            services.contains_key(name),
            "service {name} missing: {:?}",
            services.keys()
        );
    }
    // The API reaches PostgreSQL through PgBouncer and migrates directly.
    assert!(compose.contains("DATABASE_URL: postgres://library:library@pgbouncer:6432/library"));
    assert!(
        compose.contains("DATABASE_MIGRATE_URL: postgres://library:library@postgres:5432/library")
    );
    assert!(compose.contains("REDIS_URL: redis://redis:6379"));
    assert!(compose.contains("RABBITMQ_URL: amqp://guest:guest@rabbitmq:5672/%2f"));
    assert!(
        compose.contains("TOKEN_SECRET:"),
        "instances must share the token secret"
    );
    assert!(services["api"].contains("build: ."));
    assert!(services["api"].contains("/health/ready"));
    assert!(services["nginx"].contains("./deploy/nginx.conf:/etc/nginx/nginx.conf"));
    assert!(services["nginx"].contains("\"8080:80\""));
    assert!(services["pgbouncer"].contains("./deploy/pgbouncer.ini:/etc/pgbouncer/pgbouncer.ini"));
    assert!(services["redis"].contains("--maxmemory") && services["redis"].contains("allkeys-lru"));
    assert!(services["rabbitmq"].contains("rabbitmq:3-management"));
    // Live knobs: every API instance watches the same etcd.
    assert!(compose.contains("ETCD_URL: http://etcd:2379"));
    assert!(services["etcd"].contains("quay.io/coreos/etcd:v3.5"));
    assert!(services["etcd"].contains("--advertise-client-urls"));

    let manager = &services["loadgen-manager"];
    assert!(manager.contains("profiles: [\"loadtest\"]"));
    let expected = r#"["manager", "stages", "--expect-workers", "${LOADGEN_WORKERS:-2}", "--bind", "0.0.0.0:5557", "--host", "http://nginx", "--prometheus", "0.0.0.0:9646"]"#;
    assert!(manager.contains(expected), "{manager}");
    let worker = &services["loadgen-worker"];
    assert!(worker.contains("profiles: [\"loadtest\"]"));
    assert!(
        worker.contains(r#"["worker", "--manager", "loadgen-manager:5557"]"#),
        "{worker}"
    );
    assert!(
        worker.contains("replicas: ${LOADGEN_WORKERS:-2}"),
        "the manager expects as many workers as compose starts: {worker}"
    );
    for block in [manager, worker] {
        assert!(
            block.contains("LOADGEN_TOKEN"),
            "manager and worker share a token"
        );
    }
}

#[test]
fn kubernetes_manager_expects_the_workers_it_gets() {
    let manager = repo_file("deploy/k8s/manager.yaml");
    let worker = repo_file("deploy/k8s/worker.yaml");
    let job = repo_file("deploy/k8s/job.yaml");
    assert!(manager.contains("kind: Service") && manager.contains("name: loadgen-manager"));
    assert!(manager.contains(r#""--expect-workers", "4""#));
    assert!(job.contains(r#""--expect-workers", "4""#) && job.contains("kind: Job"));
    assert!(worker.contains("replicas: 4"));
    assert!(worker.contains(r#""--manager", "loadgen-manager:5557""#));
    for file in [&manager, &worker, &job] {
        assert!(file.contains("name: LOADGEN_TOKEN") && file.contains("runAsNonRoot: true"));
    }
}

#[test]
fn kubernetes_api_watches_etcd() {
    let api = repo_file("deploy/k8s/api.yaml");
    assert!(api.contains("name: ETCD_URL") && api.contains("http://etcd:2379"));
    assert!(api.contains("kind: Service") && api.contains("name: library-api"));
    assert!(api.contains("runAsNonRoot: true"));
    let job = repo_file("deploy/k8s/job.yaml");
    assert!(
        job.contains("http://library-api"),
        "the job targets this Service"
    );
}

#[test]
fn proxy_and_pooler_configs_match() {
    let nginx = repo_file("deploy/nginx.conf");
    assert!(nginx.contains("server api:8080"));
    assert!(nginx.contains("proxy_pass http://library_api;"));
    assert!(nginx.contains("listen 80 "));
    let bouncer = repo_file("deploy/pgbouncer.ini");
    assert!(bouncer
        .lines()
        .any(|l| l.trim() == "pool_mode = transaction"));
    assert!(bouncer.lines().any(|l| l.trim() == "listen_port = 6432"));
    assert!(bouncer.contains("host=postgres port=5432 dbname=library"));
    assert!(repo_file("deploy/userlist.txt").contains("\"library\""));
}

#[test]
fn dockerfile_is_multi_stage_and_non_root() {
    let dockerfile = repo_file("Dockerfile");
    assert!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .count()
            >= 2
    );
    let user = dockerfile
        .lines()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("USER set");
    assert_ne!(user.trim(), "USER root");
    assert!(dockerfile.contains("target-service") && dockerfile.contains("loadgen"));
}

#[test]
fn stack_scripts_only_stop_their_own_pids() {
    let up = repo_file("scripts/stack-up");
    let down = repo_file("scripts/stack-down");
    assert!(up.contains("pool_mode") || up.contains("pgbouncer.ini"));
    for port in ["8081", "8082"] {
        assert!(up.contains(port));
    }
    for forbidden in ["pkill", "killall"] {
        assert!(
            !down.contains(forbidden) && !up.contains(forbidden),
            "{forbidden}"
        );
    }
    assert!(down.contains(".pid"));
}
