//! The personas of the library API, weighted like Locust user classes:
//! readers browse and search, members log in, borrow and return, librarians add books.

use crate::data;
use loadgen::prelude::*;
use serde_json::{json, Value};

/// A logged-in user's state, kept between tasks.
#[derive(Clone, Default)]
pub struct Session {
    pub token: String,
    /// Loans this user has open, so returns name real loans.
    pub loans: Vec<u64>,
}

fn has_field(field: &'static str) -> impl Fn(&Reply) -> Result<(), String> + Send + Sync {
    move |r: &Reply| match serde_json::from_slice::<Value>(&r.body) {
        Ok(v) if v.get(field).is_some() => Ok(()),
        Ok(_) => Err(format!("response has no '{field}'")),
        Err(e) => Err(format!("response is not JSON: {e}")),
    }
}

async fn view_book(mut vu: Vu<'_>) -> TaskResult {
    let id = data::book_id();
    vu.get(format!("/books/{id}"))
        .name("/books/{id}")
        .expect(200)
        .check(has_field("title"))
        .send()
        .await?;
    Ok(())
}

async fn search(mut vu: Vu<'_>) -> TaskResult {
    let path = format!("/books?q={}&page={}", data::search_word(), data::page());
    vu.get(path)
        .name("/books?q={word}")
        .expect(200)
        .check(has_field("items"))
        .send()
        .await?;
    Ok(())
}

async fn browse_catalogue(mut vu: Vu<'_>) -> TaskResult {
    let path = format!("/books?page={}&per_page=20", data::page());
    vu.get(path)
        .name("/books?page={n}")
        .expect(200)
        .check(has_field("items"))
        .send()
        .await?;
    Ok(())
}

async fn login(vu: &mut Vu<'_>, email: String) -> TaskResult {
    let reply = vu
        .post("/auth/login")
        .json(json!({ "email": email, "password": data::PASSWORD }))
        .expect(200)
        .check(has_field("token"))
        .send()
        .await?;
    let body: Value = reply.json()?;
    let token = body["token"].as_str().unwrap_or_default().to_string();
    vu.set_data(Session {
        token,
        loans: vec![],
    });
    Ok(())
}

async fn member_login(mut vu: Vu<'_>) -> TaskResult {
    login(&mut vu, data::member_email()).await
}

async fn librarian_login(mut vu: Vu<'_>) -> TaskResult {
    login(&mut vu, data::librarian_email()).await
}

/// This user's token; a user whose login failed (an error already recorded) logs
/// in again first, as a person would, instead of sending every request unsigned.
async fn token(vu: &mut Vu<'_>, email: fn() -> String) -> Result<String, TaskError> {
    if let Some(s) = vu.data::<Session>().filter(|s| !s.token.is_empty()) {
        return Ok(s.token.clone());
    }
    login(vu, email()).await?;
    Ok(vu
        .data::<Session>()
        .map(|s| s.token.clone())
        .unwrap_or_default())
}

async fn my_loans(mut vu: Vu<'_>) -> TaskResult {
    let token = token(&mut vu, data::member_email).await?;
    vu.get("/members/me/loans")
        .bearer(&token)
        .expect(200)
        .send()
        .await?;
    Ok(())
}

async fn borrow(mut vu: Vu<'_>) -> TaskResult {
    let token = token(&mut vu, data::member_email).await?;
    let reply = vu
        .post("/loans")
        .bearer(&token)
        .header("idempotency-key", data::idempotency_key())
        .json(json!({ "book_id": data::book_id() }))
        // 409: no copy left or the member is at the loan limit; a correct answer.
        .expect_any(&[200, 201, 409])
        .send()
        .await?;
    if reply.status == 201 || reply.status == 200 {
        let loan: Value = reply.json()?;
        if let (Some(id), Some(s)) = (loan["id"].as_u64(), vu.data_mut::<Session>()) {
            s.loans.push(id);
        }
    }
    Ok(())
}

async fn return_book(mut vu: Vu<'_>) -> TaskResult {
    let token = token(&mut vu, data::member_email).await?;
    let Some(id) = vu.data_mut::<Session>().and_then(|s| s.loans.pop()) else {
        return Ok(());
    };
    vu.post(format!("/loans/{id}/return"))
        .name("/loans/{id}/return")
        .bearer(&token)
        .expect(200)
        .send()
        .await?;
    Ok(())
}

async fn add_book(mut vu: Vu<'_>) -> TaskResult {
    let token = token(&mut vu, data::librarian_email).await?;
    let n = data::idempotency_key();
    let body = json!({ "isbn": format!("978-{}", &n[3..13]), "title": format!("The {} of {n}", data::search_word()), "author": "Load Gen", "year": 2026, "copies": 3 });
    vu.post("/books")
        .bearer(&token)
        .json(body)
        .expect(201)
        .check(has_field("id"))
        .send()
        .await?;
    Ok(())
}

pub fn reader() -> ScenarioDef {
    ScenarioDef::new("reader")
        .weight(6)
        .think(Duration::from_secs(1), Duration::from_secs(3))
        .task("view book", 5, task!(view_book))
        .task("search", 3, task!(search))
        .task("browse", 1, task!(browse_catalogue))
}

pub fn member() -> ScenarioDef {
    ScenarioDef::new("member")
        .weight(3)
        .think(Duration::from_secs(1), Duration::from_secs(3))
        .on_start("login", task!(member_login))
        .task("view book", 3, task!(view_book))
        .task("my loans", 2, task!(my_loans))
        .task("borrow", 1, task!(borrow))
        .task("return", 1, task!(return_book))
}

pub fn librarian() -> ScenarioDef {
    ScenarioDef::new("librarian")
        .weight(1)
        .think(Duration::from_secs(2), Duration::from_secs(5))
        .on_start("login", task!(librarian_login))
        .task("search", 3, task!(search))
        .task("add book", 1, task!(add_book))
}
