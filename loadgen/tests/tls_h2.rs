//! Every user's own connection reaches real targets: HTTPS with certificates
//! made here (refused before load when untrusted, trusted with --ca, taken with
//! --insecure, a client certificate when the server wants one), sessions
//! resumed on reconnect, HTTP/2 by ALPN and h2c (a connection per user, a
//! stream per request), a redirect to a second origin, --connect-to, and
//! compressed answers; the shared pool with the same TLS and HTTP/2.

#[path = "support/run.rs"]
mod run;
#[path = "support/web.rs"]
mod web;

use loadgen::prelude::*;
use run::{errors_of, row, run_app, Ran};
use serde_json::Value;
use std::sync::Arc;
use web::{echo_path, Certs, Listen, Web};

fn certs(test: &str) -> Certs {
    Certs::new(
        &std::env::temp_dir().join(format!("loadgen-certs-{test}-{}", std::process::id())),
        &["localhost", "127.0.0.1", "api.test"],
    )
}

fn https(certs: &Certs, alpn: &[&str], handler: web::Handler) -> Web {
    Web::start(
        Listen {
            tls: Some(certs),
            alpn,
            client_auth: false,
            host: "localhost",
        },
        handler,
    )
}

/// `http-get` on `/` for two users for two seconds, with these flags.
fn get(test: &str, url: &str, flags: &[&str]) -> Ran {
    let mut args = vec![
        "plan:2,0s;2,2s",
        "--scenario",
        "http-get",
        "--path",
        "/",
        "--think",
        "100ms",
    ];
    args.extend_from_slice(flags);
    run_app(test, App::new(), url, &args)
}

fn summary(ran: &Ran) -> &Value {
    ran.summary.as_ref().expect("a summary")
}

#[test]
fn an_untrusted_certificate_is_refused_before_any_load_and_trusted_with_ca() {
    let certs = certs("trust");
    let server = https(&certs, &["http/1.1"], echo_path());
    let refused = get("untrusted", &server.url, &[]);
    assert_eq!(refused.code, 3, "exit 3: the run could not be carried out");
    assert!(refused.summary.is_none());
    assert_eq!(server.seen.requests(), 0, "no load was sent");
    let ca = certs.ca_file.to_str().unwrap();
    let trusted = get("trusted", &server.url, &["--ca", ca]);
    assert_eq!(trusted.code, 0);
    let s = summary(&trusted);
    assert_eq!(s["total"]["failures"], 0);
    assert_eq!(
        s["total"]["requests"].as_u64().unwrap(),
        server.seen.requests()
    );
    let tls = &s["connections"]["tls"];
    assert_eq!(
        tls["handshakes_full"], 2,
        "one full handshake per user: {tls}"
    );
    assert!(tls["p50_us"].as_u64().unwrap() > 0);
    assert_eq!(s["connections"]["http"]["http1_connections"], 2);
    assert_eq!(s["config"]["ca"][0], ca);
    assert!(s["connections"]["ttfb"]["p99_us"].as_u64().unwrap() > 0);
}

#[test]
fn insecure_takes_any_certificate_and_says_so() {
    let certs = certs("insecure");
    let server = https(&certs, &["http/1.1"], echo_path());
    let ran = get("insecure", &server.url, &["--insecure"]);
    assert_eq!(ran.code, 0);
    let s = summary(&ran);
    assert_eq!(s["config"]["insecure"], true);
    assert_eq!(s["total"]["failures"], 0);
}

#[test]
fn a_server_wanting_a_client_certificate_gets_one() {
    let certs = certs("mtls");
    let server = Web::start(
        Listen {
            tls: Some(&certs),
            alpn: &["http/1.1"],
            client_auth: true,
            host: "localhost",
        },
        echo_path(),
    );
    let ca = certs.ca_file.to_str().unwrap();
    let without = get("mtls-without", &server.url, &["--ca", ca]);
    assert_eq!(without.code, 3);
    let with = get(
        "mtls-with",
        &server.url,
        &[
            "--ca",
            ca,
            "--client-cert",
            certs.client_cert_file.to_str().unwrap(),
            "--client-key",
            certs.client_key_file.to_str().unwrap(),
        ],
    );
    assert_eq!(with.code, 0);
    assert_eq!(summary(&with)["config"]["client_cert"], true);
    assert!(server.seen.requests() > 0);
}

#[test]
fn a_user_that_reconnects_resumes_its_session() {
    let certs = certs("resume");
    // Every answer closes its connection: each request is a reconnect.
    let server = https(
        &certs,
        &["http/1.1"],
        Arc::new(|_, _, _, _| {
            (
                200,
                vec![("connection".into(), "close".into())],
                b"ok".to_vec(),
            )
        }),
    );
    let ran = get(
        "resume",
        &server.url,
        &["--ca", certs.ca_file.to_str().unwrap()],
    );
    assert_eq!(ran.code, 0);
    let tls = &summary(&ran)["connections"]["tls"];
    assert_eq!(
        tls["handshakes_full"], 2,
        "a new user does a full handshake: {tls}"
    );
    assert!(tls["handshakes_resumed"].as_u64().unwrap() > 4, "{tls}");
    // The server agrees (its own count includes the start's check, a full one).
    assert_eq!(
        server.seen.get(&server.seen.resumed_handshakes),
        tls["handshakes_resumed"].as_u64().unwrap()
    );
}

#[test]
fn http2_by_alpn_holds_a_connection_per_user_and_a_stream_per_request() {
    let certs = certs("h2");
    let server = https(&certs, &["h2", "http/1.1"], echo_path());
    let ran = get(
        "h2",
        &server.url,
        &["--ca", certs.ca_file.to_str().unwrap()],
    );
    assert_eq!(ran.code, 0);
    let s = summary(&ran);
    let requests = s["total"]["requests"].as_u64().unwrap();
    assert_eq!(server.seen.get(&server.seen.http2), requests);
    assert_eq!(server.seen.get(&server.seen.http1), 0);
    // Two users, two connections (and the start's check).
    assert_eq!(server.seen.get(&server.seen.connections), 2 + 1);
    let http = &s["connections"]["http"];
    assert_eq!(http["http2_connections"], 2);
    assert_eq!(http["h2_streams"].as_u64().unwrap(), requests);
    // --http 1.1 stays on HTTP/1.1 against the same server.
    let h1 = get(
        "h2-as-h1",
        &server.url,
        &["--ca", certs.ca_file.to_str().unwrap(), "--http", "1.1"],
    );
    assert_eq!(summary(&h1)["connections"]["http"]["http1_connections"], 2);
}

#[test]
fn h2c_with_prior_knowledge_on_plain_http() {
    let server = Web::start(
        Listen {
            tls: None,
            alpn: &[],
            client_auth: false,
            host: "127.0.0.1",
        },
        echo_path(),
    );
    let ran = get("h2c", &server.url, &["--http", "2"]);
    assert_eq!(ran.code, 0);
    let requests = summary(&ran)["total"]["requests"].as_u64().unwrap();
    assert!(requests > 0);
    assert_eq!(server.seen.get(&server.seen.http2), requests);
}

#[test]
fn a_redirect_to_another_origin_opens_a_connection_there() {
    let certs = certs("origins");
    let idp = https(&certs, &["h2", "http/1.1"], echo_path());
    let idp_url = idp.url.clone();
    let app = Web::start(
        Listen {
            tls: None,
            alpn: &[],
            client_auth: false,
            host: "127.0.0.1",
        },
        Arc::new(move |_, path, _, _| {
            if path == "/login" {
                (
                    302,
                    vec![("location".into(), format!("{idp_url}/authorize?client=app"))],
                    vec![],
                )
            } else {
                (200, vec![], b"home".to_vec())
            }
        }),
    );
    async fn login(mut vu: Vu<'_>) -> TaskResult {
        let reply = vu.get("/login").name("/login").send().await?;
        if reply.text() != "/authorize?client=app" || reply.url.is_none() {
            return Err(TaskError::msg(format!(
                "landed on {:?}: {}",
                reply.url,
                reply.text()
            )));
        }
        Ok(())
    }
    let scenario = ScenarioDef::new("sso")
        .think(Duration::from_millis(100), Duration::from_millis(100))
        .task("login", 1, task!(login));
    let ran = run_app(
        "origins",
        App::new().scenario(scenario),
        &app.url,
        &["plan:2,0s;2,2s", "--ca", certs.ca_file.to_str().unwrap()],
    );
    let s = summary(&ran);
    assert_eq!(s["total"]["failures"], 0, "{:?}", s["errors"]);
    let origins: Vec<(String, u64)> = s["connections"]["origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["origin"].as_str().unwrap().to_string(),
                o["connections"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(origins.len(), 2, "{origins:?}");
    assert!(
        origins.iter().all(|(_, n)| *n == 2),
        "a connection per user per origin: {origins:?}"
    );
    assert!(idp.seen.get(&idp.seen.http2) > 0);
}

#[test]
fn connect_to_sends_a_host_elsewhere_keeping_its_name() {
    let certs = certs("connect-to");
    let server = https(&certs, &["http/1.1"], echo_path());
    let route = format!("api.test:443:127.0.0.1:{}", server.port);
    let ran = get(
        "connect-to",
        "https://api.test",
        &[
            "--ca",
            certs.ca_file.to_str().unwrap(),
            "--connect-to",
            &route,
        ],
    );
    assert_eq!(
        ran.code,
        0,
        "{:?}",
        ran.summary.as_ref().map(|s| &s["errors"])
    );
    let hosts = server.seen.hosts.lock().unwrap().clone();
    assert_eq!(hosts.keys().collect::<Vec<_>>(), ["api.test"], "{hosts:?}");
}

#[test]
fn compressed_answers_are_decoded_for_checks_and_both_sizes_counted() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&[b'z'; 5_000]).unwrap();
    let wire = gz.finish().unwrap();
    let server = Web::start(
        Listen {
            tls: None,
            alpn: &[],
            client_auth: false,
            host: "127.0.0.1",
        },
        Arc::new(move |_, _, headers, _| {
            let asked = headers
                .get("accept-encoding")
                .is_some_and(|v| v.to_str().unwrap_or("").contains("gzip"));
            if asked {
                (
                    200,
                    vec![("content-encoding".into(), "gzip".into())],
                    wire.clone(),
                )
            } else {
                (406, vec![], vec![])
            }
        }),
    );
    async fn check(mut vu: Vu<'_>) -> TaskResult {
        vu.get("/")
            .check(|r| {
                (r.body.len() == 5_000 && r.body[0] == b'z')
                    .then_some(())
                    .ok_or("not decoded".into())
            })
            .send()
            .await?;
        Ok(())
    }
    let scenario = ScenarioDef::new("zip")
        .think(Duration::from_millis(100), Duration::from_millis(100))
        .task("get", 1, task!(check));
    let ran = run_app(
        "compress",
        App::new().scenario(scenario),
        &server.url,
        &["plan:1,0s;1,1s", "--compress"],
    );
    let s = summary(&ran);
    assert_eq!(s["total"]["failures"], 0, "{:?}", errors_of(s, "/"));
    let c = &s["connections"];
    let (wire, decoded) = (
        c["compressed_wire_bytes"].as_u64().unwrap(),
        c["compressed_decoded_bytes"].as_u64().unwrap(),
    );
    assert!(
        wire > 0 && decoded == 5_000 * s["total"]["requests"].as_u64().unwrap(),
        "{c}"
    );
    assert!(row(s, "GET", "/").is_some());
}

#[test]
fn the_shared_pool_speaks_tls_and_http2_and_keeps_each_users_cookies() {
    let certs = certs("shared");
    // Sets a cookie on the first visit; a second visit without it is a 401.
    let server = https(
        &certs,
        &["h2", "http/1.1"],
        Arc::new(|_, path, headers, _| {
            let cookie = headers
                .get("cookie")
                .and_then(|c| c.to_str().ok())
                .unwrap_or("");
            match path {
                "/first" => (
                    200,
                    vec![("set-cookie".into(), "session=s1; Path=/".into())],
                    vec![],
                ),
                _ if cookie.contains("session=s1") => (200, vec![], b"again".to_vec()),
                _ => (401, vec![], vec![]),
            }
        }),
    );
    async fn visit(mut vu: Vu<'_>) -> TaskResult {
        vu.get("/first").send().await?;
        vu.get("/again").send().await?;
        Ok(())
    }
    let scenario = ScenarioDef::new("visitor")
        .think(Duration::from_millis(100), Duration::from_millis(100))
        .task("visit", 1, task!(visit));
    let ran = run_app(
        "shared-tls",
        App::new().scenario(scenario),
        &server.url,
        &[
            "plan:2,0s;2,2s",
            "--connections",
            "shared",
            "--ca",
            certs.ca_file.to_str().unwrap(),
        ],
    );
    let s = summary(&ran);
    assert_eq!(s["total"]["failures"], 0, "{:?}", s["errors"]);
    assert!(
        server.seen.get(&server.seen.http2) > 0,
        "the pool speaks HTTP/2 by ALPN"
    );
}
