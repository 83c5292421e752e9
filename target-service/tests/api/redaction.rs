//! `/admin/config` never shows a database password, in the URL's userinfo or in its
//! query (`?password=`, `?sslpassword=`, which libpq and sqlx take as well).
//! Needs PostgreSQL (`LOADGEN_TEST_DATABASE_URL`): SQLite takes no password.

use std::sync::Arc;

use crate::helpers::{test_vars, PgTestDb};
use crate::socket::serve_vars;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_in_database_url_queries_are_masked() {
    let Ok(admin) = std::env::var("LOADGEN_TEST_DATABASE_URL") else {
        eprintln!("skipped: LOADGEN_TEST_DATABASE_URL not set");
        return;
    };
    let db = Arc::new(PgTestDb::create(&admin).await);
    let joined = |param: &str| {
        let sep = if db.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{param}", db.url)
    };
    let mut vars = test_vars();
    // The test server trusts local connections: the password is carried, not checked.
    vars.insert("DATABASE_URL".into(), joined("password=hunter2-url"));
    vars.insert(
        "DATABASE_MIGRATE_URL".into(),
        joined("sslpassword=hunter2-key"),
    );
    let served = serve_vars(vars).await;
    let login = r#"{"email":"librarian1@library.test","password":"loadgen-password"}"#;
    let token = served
        .send("POST", "/auth/login", &[], Some(login))
        .await
        .body["token"]
        .as_str()
        .expect("librarian token")
        .to_string();
    let auth = format!("Bearer {token}");
    let r = served
        .get("/admin/config", &[("Authorization", &auth)])
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!r.raw_body.contains("hunter2"), "{}", r.raw_body);
    let knob = |env: &str| {
        r.body["knobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["env"] == env)
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        knob("DATABASE_URL").ends_with("password=***"),
        "{}",
        knob("DATABASE_URL")
    );
    assert!(
        knob("DATABASE_MIGRATE_URL").ends_with("sslpassword=***"),
        "{}",
        knob("DATABASE_MIGRATE_URL")
    );
    drop(served);
    drop(db);
}
