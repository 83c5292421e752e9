//! Real flows in a few lines, against a real server: headers at every level
//! (one value a name), query strings, form, raw and multipart bodies (a file
//! streamed), redirects per request, reply headers and timings, captures,
//! feeders (unique rows; a feeder that runs out stops the run), timed flows and
//! counters judged by rules, on-stop tasks, setup and teardown, checks on
//! accepted statuses only, and status counts and scenario rows in summary.json.

#[path = "support/run.rs"]
mod run;
#[path = "support/web.rs"]
mod web;

use loadgen::prelude::*;
use run::{errors_of, row, run_app};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use web::{Listen, Web};

fn plain(handler: web::Handler) -> Web {
    Web::start(
        Listen {
            tls: None,
            alpn: &[],
            client_auth: false,
            host: "127.0.0.1",
        },
        handler,
    )
}

fn values(h: &http::HeaderMap, name: &str) -> Vec<String> {
    h.get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_string())
        .collect()
}

/// What the server saw of each request, by path.
type Seen = Arc<Mutex<Vec<(String, String, Vec<String>, Vec<u8>)>>>;

#[test]
fn a_request_carries_its_headers_once_its_query_and_its_body() {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let server = plain(Arc::new(move |method, path, h, body| {
        let accept = values(h, "accept");
        let ct = values(h, "content-type").join("|");
        log.lock().unwrap().push((
            method.into(),
            path.into(),
            [accept, vec![ct], values(h, "x-run"), values(h, "x-user")].concat(),
            body.to_vec(),
        ));
        match path {
            "/go" => (302, vec![("location".into(), "/gone".into())], vec![]),
            _ => (200, vec![("etag".into(), "\"v1\"".into())], b"{}".to_vec()),
        }
    }));
    let file = std::env::temp_dir().join(format!("loadgen-upload-{}.csv", std::process::id()));
    std::fs::write(&file, "a,b\n".repeat(50_000)).unwrap();
    let upload = Arc::new(file);
    let scenario = ScenarioDef::new("writer")
        .header("Accept", "application/json")
        .task("write", 1, {
            let upload = upload.clone();
            task_fn(move |mut vu| {
                let upload = upload.clone();
                Box::pin(async move {
                    vu.set_header("X-User", "u1");
                    let r = vu
                        .get("/books")
                        .query("q", "a b&c")
                        .query("page", 2)
                        .header("accept", "text/plain")
                        .send()
                        .await?;
                    if r.header("ETag") != Some("\"v1\"")
                        || r.connect_us.is_none() && r.ttfb_us.is_none()
                    {
                        return Err(TaskError::msg(format!("reply headers: {:?}", r.headers)));
                    }
                    vu.post("/form")
                        .form(&[("email", "a@x.test"), ("note", "x y")])
                        .send()
                        .await?;
                    vu.put("/raw")
                        .body(b"\x00\x01".to_vec(), "application/octet-stream")
                        .send()
                        .await?;
                    let form = Multipart::new().text("title", "t").file(
                        "upload",
                        upload.as_path(),
                        "text/csv",
                    )?;
                    vu.post("/upload").multipart(form).send().await?;
                    vu.patch("/json")
                        .json(json!({"a": 1}))
                        .header("content-type", "application/merge-patch+json")
                        .send()
                        .await?;
                    let r = vu.get("/go").redirects(0).expect(302).send().await?;
                    if r.header("location") != Some("/gone") {
                        return Err(TaskError::msg("the redirect was followed"));
                    }
                    vu.head("/head").send().await?;
                    Ok(())
                })
            })
        });
    let ran = run_app(
        "request-surface",
        App::new().scenario(scenario),
        &server.url,
        &[
            "plan:1,0s;1,1s",
            "--header",
            "X-Run: r1",
            "--header",
            "accept: */*",
            "--think",
            "2s",
        ],
    );
    let s = ran.summary.expect("a summary");
    assert_eq!(s["total"]["failures"], 0, "{}", s["errors"]);
    let seen = seen.lock().unwrap();
    let by = |p: &str| {
        seen.iter()
            .find(|r| r.1.starts_with(p))
            .cloned()
            .unwrap_or_else(|| panic!("no {p}"))
    };
    let books = by("/books");
    assert_eq!(books.1, "/books?q=a+b%26c&page=2");
    // One Accept: the request's own, over the scenario's and the run's.
    assert_eq!(&books.2[..1], ["text/plain"]);
    assert!(
        books.2.contains(&"r1".to_string()) && books.2.contains(&"u1".to_string()),
        "{:?}",
        books.2
    );
    let form = by("/form");
    assert_eq!(form.3, b"email=a%40x.test&note=x+y");
    assert!(form
        .2
        .contains(&"application/x-www-form-urlencoded".to_string()));
    assert_eq!(by("/raw").3, [0, 1]);
    let upload = by("/upload");
    let text = String::from_utf8_lossy(&upload.3);
    assert!(text.contains("filename=\"loadgen-upload-") && text.contains(&"a,b\n".repeat(50_000)));
    let patch = by("/json");
    assert_eq!(
        (patch.0.as_str(), patch.3.as_slice()),
        ("PATCH", &b"{\"a\":1}"[..])
    );
    assert!(
        patch
            .2
            .contains(&"application/merge-patch+json".to_string()),
        "one Content-Type: {:?}",
        patch.2
    );
    assert!(!patch.2.iter().any(|v| v.contains("application/json|")));
    assert_eq!(by("/head").0, "HEAD");
    assert!(seen.iter().all(|r| r.1 != "/gone"));
    // Status counts per endpoint, and the scenario's own row.
    assert_eq!(row(&s, "GET", "/go").unwrap()["statuses"]["302"], 1);
    assert_eq!(s["scenarios"][0]["name"], "writer");
}

#[test]
fn captures_keep_values_for_later_requests_and_a_missing_one_is_a_named_check() {
    let server = plain(Arc::new(|_, path, h, _| match path {
        "/login" => (200, vec![], br#"{"token": "t-42"}"#.to_vec()),
        "/orders" => (
            201,
            vec![("location".into(), "/orders/7".into())],
            b"<input name=\"csrf\" value=\"c9\">".to_vec(),
        ),
        "/orders/7"
            if values(h, "authorization") == ["Bearer t-42"] && values(h, "x-csrf") == ["c9"] =>
        {
            (200, vec![], b"{}".to_vec())
        }
        "/empty" => (200, vec![], b"{}".to_vec()),
        _ => (403, vec![], vec![]),
    }));
    async fn flow(mut vu: Vu<'_>) -> TaskResult {
        vu.post("/login")
            .capture("token", json("/token"))
            .send()
            .await?;
        let token = vu.var("token").unwrap_or_default().to_string();
        vu.post("/orders")
            .capture("order", header("Location"))
            .capture("csrf", regex(r#"name="csrf" value="([^"]+)""#).unwrap())
            .send()
            .await?;
        let order = vu.var("order").unwrap_or_default().to_string();
        let csrf = vu.var("csrf").unwrap_or_default().to_string();
        vu.get(order)
            .name("/orders/{id}")
            .bearer(&token)
            .header("x-csrf", csrf)
            .send()
            .await?;
        let _ = vu
            .get("/empty")
            .capture("missing", json("/nope"))
            .send()
            .await;
        Ok(())
    }
    let scenario = ScenarioDef::new("buyer")
        .think(Duration::from_millis(200), Duration::from_millis(200))
        .task("flow", 1, task!(flow));
    let ran = run_app(
        "captures",
        App::new().scenario(scenario),
        &server.url,
        &["plan:1,0s;1,1s", "--allow-failures"],
    );
    let s = ran.summary.expect("a summary");
    assert_eq!(
        row(&s, "GET", "/orders/{id}").unwrap()["failures"],
        0,
        "{}",
        s["errors"]
    );
    let empty = errors_of(&s, "/empty");
    assert_eq!(empty[0].0, "check");
    assert!(empty[0].1.contains("capture 'missing'"), "{empty:?}");
}

#[test]
fn feeders_hand_each_row_once_and_running_out_stops_the_run() {
    let dir = std::env::temp_dir().join(format!("loadgen-feed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("accounts.csv");
    let rows: String = (0..30).map(|i| format!("user{i}@x.test,pw{i}\n")).collect();
    std::fs::write(&csv, format!("email,password\n{rows}")).unwrap();
    let used: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = used.clone();
    let server = plain(Arc::new(move |_, _, _, body| {
        log.lock()
            .unwrap()
            .push(String::from_utf8_lossy(body).into_owned());
        (200, vec![], vec![])
    }));
    async fn login(mut vu: Vu<'_>) -> TaskResult {
        let row = vu.feed("accounts").await?;
        let email = row.get("email").unwrap_or_default().to_string();
        vu.post("/login")
            .form(&[("email", email.as_str())])
            .send()
            .await?;
        vu.count("logins", 1);
        Ok(())
    }
    let scenario = ScenarioDef::new("member")
        .think(Duration::from_millis(20), Duration::from_millis(20))
        .task("login", 1, task!(login));
    let app = App::new()
        .scenario(scenario)
        .feeder("accounts", Feeder::csv(&csv).order(Order::Unique));
    let ran = run_app(
        "feeders",
        app,
        &server.url,
        &["plan:3,0s;3,20s", "--threshold", "count(logins)>=30"],
    );
    assert!(
        ran.wall < Duration::from_secs(10),
        "the feeder's end stops the run: {:?}",
        ran.wall
    );
    let s = ran.summary.expect("a summary");
    assert_eq!(ran.code, 0, "{}", s["thresholds"]);
    let used = used.lock().unwrap();
    let distinct: BTreeSet<_> = used.iter().collect();
    assert_eq!((used.len(), distinct.len()), (30, 30), "every row once");
    let counters = s["counters"].to_string();
    assert!(
        counters.contains("feeder.accounts.rows") && counters.contains("feeder.accounts.exhausted"),
        "{counters}"
    );
    // A missing file is exit 2, naming it.
    let missing = run_app(
        "feeders-missing",
        App::new()
            .scenario(ScenarioDef::new("m").task("login", 1, task!(login)))
            .feeder("accounts", Feeder::csv(dir.join("nope.csv"))),
        &server.url,
        &["plan:1,0s;1,1s"],
    );
    assert_eq!(missing.code, 2);
}

#[test]
fn flows_are_timed_apart_from_the_totals_and_lifecycle_tasks_run() {
    let server = plain(Arc::new(|_, path, _, _| match path {
        "/fail" => (500, vec![], vec![]),
        _ => (429, vec![("retry-after".into(), "1".into())], vec![]),
    }));
    let stops = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let torn_down = Arc::new(Mutex::new(Value::Null));
    async fn checkout(mut vu: Vu<'_>) -> TaskResult {
        let flow = vu.measure("checkout");
        // An accepted 429 is not checked for a body it never has.
        vu.get("/cart")
            .expect_any(&[200, 429])
            .check(|r| (!r.body.is_empty()).then_some(()).ok_or("empty".into()))
            .send()
            .await?;
        if vu.setup_data()["seeded"] != true {
            return Err(TaskError::msg("no setup data"));
        }
        flow.done();
        let half = vu.measure("half");
        vu.get("/fail").send().await?;
        half.done();
        Ok(())
    }
    async fn seed(mut vu: Vu<'_>) -> Result<Value, TaskError> {
        vu.get("/seed").expect(429).send().await?;
        Ok(json!({"seeded": true}))
    }
    let stopped = stops.clone();
    let scenario = ScenarioDef::new("shopper")
        .think(Duration::from_millis(200), Duration::from_millis(200))
        .task("checkout", 1, task!(checkout))
        .on_stop(
            "leave",
            task_fn(move |_vu| {
                stopped.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Box::pin(async { Ok(()) })
            }),
        );
    let kept = torn_down.clone();
    let app = App::new()
        .scenario(scenario)
        .setup(setup!(seed))
        .teardown(task_fn(move |vu| {
            *kept.lock().unwrap() = vu.setup_data().clone();
            Box::pin(async { Ok(()) })
        }));
    let ran = run_app(
        "flows",
        app,
        &server.url,
        &[
            "plan:2,0s;2,2s",
            "--allow-failures",
            "--threshold",
            "p99<1s for FLOW checkout",
        ],
    );
    let s = ran.summary.expect("a summary");
    let flow = row(&s, "FLOW", "checkout").expect("a FLOW row");
    assert!(flow["requests"].as_u64().unwrap() > 0);
    assert_eq!(flow["failures"], 0);
    let half = row(&s, "FLOW", "half").unwrap();
    assert_eq!(
        half["failures"], half["requests"],
        "a flow its task left early failed"
    );
    let requests: u64 = s["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "FLOW")
        .map(|r| r["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(
        s["total"]["requests"].as_u64().unwrap(),
        requests,
        "flows are not in the totals"
    );
    assert_eq!(row(&s, "GET", "/cart").unwrap()["failures"], 0);
    assert_eq!(s["thresholds"][0]["passed"], true, "{}", s["thresholds"]);
    assert_eq!(
        stops.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "each user's on-stop task ran"
    );
    assert_eq!(*torn_down.lock().unwrap(), json!({"seeded": true}));
}
