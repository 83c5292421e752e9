//! The PostgreSQL store through a private PgBouncer in transaction mode, under
//! concurrency (the mode that breaks named or cross-round-trip prepared statements).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{build, test_vars, with_database, PgTestDb};

struct PrivateBouncer {
    child: Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Drop for PrivateBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `(user, password, host, port)` of a `postgres://user[:pw]@host[:port]/db` URL.
fn parts(url: &str) -> Option<(String, String, String, u16)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let (userinfo, hostport) = authority.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
    Some((
        user.into(),
        password.into(),
        host.into(),
        port.parse().ok()?,
    ))
}

fn start_bouncer(admin: &str, db: &str) -> Option<PrivateBouncer> {
    let binary = ["pgbouncer", "/usr/sbin/pgbouncer"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok()
    })?;
    let (user, password, host, pg_port) = parts(admin)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let dir = std::env::temp_dir().join(format!("ts-pgb-{port}-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(
        dir.join("userlist.txt"),
        format!("\"{user}\" \"{password}\"\n"),
    )
    .ok()?;
    let ini = format!(
        "[databases]\n{db} = host={host} port={pg_port} dbname={db}\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
         listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
         default_pool_size = 4\nmax_client_conn = 200\nserver_reset_query =\n\
         ignore_startup_parameters = extra_float_digits,options\n",
        users = dir.join("userlist.txt").display()
    );
    std::fs::write(dir.join("pgbouncer.ini"), ini).ok()?;
    let mut cmd = Command::new(binary);
    if Command::new("id")
        .arg("-u")
        .output()
        .ok()?
        .stdout
        .starts_with(b"0")
    {
        // PgBouncer refuses to run as root.
        Command::new("chown")
            .args(["-R", "nobody"])
            .arg(&dir)
            .status()
            .ok()?;
        cmd.args(["-u", "nobody"]);
    }
    let child = cmd
        .arg(dir.join("pgbouncer.ini"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let bouncer = PrivateBouncer { child, dir, port };
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(bouncer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_traffic_through_pgbouncer_transaction_mode() {
    let Ok(admin) = std::env::var("LOADGEN_TEST_DATABASE_URL") else {
        eprintln!("skipped: LOADGEN_TEST_DATABASE_URL not set");
        return;
    };
    let db = Arc::new(PgTestDb::create(&admin).await);
    let db_name = db
        .url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let Some(bouncer) = start_bouncer(&admin, &db_name) else {
        eprintln!("skipped: pgbouncer not available");
        return;
    };
    let (user, password, ..) = parts(&admin).unwrap();
    let auth = if password.is_empty() {
        user
    } else {
        format!("{user}:{password}")
    };
    let mut vars = test_vars();
    vars.insert(
        "DATABASE_URL".into(),
        with_database(
            &format!("postgres://{auth}@127.0.0.1:{}/x", bouncer.port),
            &db_name,
        ),
    );
    vars.insert("DATABASE_MIGRATE_URL".into(), db.url.clone());
    vars.insert("DB_MAX_CONNECTIONS".into(), "16".into());
    let app = build(vars, Some(db)).await;

    let book = app.add_book(10).await;
    let mut tokens = Vec::new();
    for i in 1..=20 {
        tokens.push(app.login(&format!("member{i}@library.test")).await);
    }
    let app = &app;
    let borrows = (0..100).map(|i| {
        let token = tokens[i % tokens.len()].clone();
        async move {
            app.request(
                Method::POST,
                "/loans",
                Some(&token),
                Some(json!({"book_id": book})),
            )
            .await
            .status
        }
    });
    let reads = (0..200).map(|i| async move {
        let path = if i % 2 == 0 {
            format!("/books/{}", i % 60 + 1)
        } else {
            format!("/books?q=king&page={}", i % 3 + 1)
        };
        app.get(&path).await.status
    });
    let (borrowed, read) = tokio::join!(
        futures_util::future::join_all(borrows),
        futures_util::future::join_all(reads)
    );
    assert!(read.iter().all(|s| *s == StatusCode::OK), "{read:?}");
    assert_eq!(
        borrowed
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        10,
        "{borrowed:?}"
    );
    assert!(
        borrowed
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{borrowed:?}"
    );
    drop(bouncer);
}
