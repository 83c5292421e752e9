//! Catalogue search, reads, and librarian-only writes.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{on_both, TestApp};

async fn search_pages_and_filters(app: &TestApp) {
    let r = app.get("/books").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["page"].as_i64(), r.body["per_page"].as_i64()),
        (Some(1), Some(20))
    );
    assert_eq!(r.body["total"], 60);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 20);

    let r = app.get("/books?q=RIVER&page=1&per_page=100").await;
    assert_eq!(r.status, StatusCode::OK);
    let items = r.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert_eq!(r.body["total"].as_u64().unwrap() as usize, items.len());
    for b in items {
        let text = format!("{} {}", b["title"], b["author"]).to_lowercase();
        assert!(text.contains("river"), "{text}");
    }

    let r = app.get("/books?q=no-such-words-anywhere").await;
    assert_eq!(
        (r.status, r.body["total"].as_i64()),
        (StatusCode::OK, Some(0))
    );

    let r = app.get("/books?page=3&per_page=25").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 10);
    assert_eq!(r.body["items"][0]["id"], 51);
}
on_both!(search_pages_and_filters);

/// Searches match a book's title or its author, whatever their case, and follow
/// an edit at once; a needle never matches across the end of the title and the
/// start of the author.
async fn search_matches_title_or_author_and_follows_edits(app: &TestApp) {
    let librarian = app.librarian().await;
    let body = json!({"isbn": "9", "title": "Zephyr QUILL", "author": "Marlow Brine", "year": 2001, "copies": 1});
    let created = app
        .request(Method::POST, "/books", Some(&librarian), Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let found = |q: &'static str| async move {
        let r = app.get(&format!("/books?q={q}&per_page=100")).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {:?}", r.body);
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["id"].as_i64() == Some(id))
    };
    assert!(found("zephyr%20quill").await, "by title");
    assert!(found("MARLOW").await, "by author, any case");
    assert!(!found("quill%20marlow").await, "across title and author");
    assert!(!found("quillmarlow").await, "across title and author");
    let edit = json!({"isbn": "9", "title": "Halcyon Days", "author": "Marlow Brine", "year": 2001, "copies": 1});
    let r = app
        .request(
            Method::PUT,
            &format!("/books/{id}"),
            Some(&librarian),
            Some(edit),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(
        found("halcyon").await,
        "an edited title is searched at once"
    );
}
on_both!(search_matches_title_or_author_and_follows_edits);

async fn book_by_id(app: &TestApp) {
    let r = app.get("/books/1").await;
    assert_eq!(r.status, StatusCode::OK);
    for field in [
        "id",
        "isbn",
        "title",
        "author",
        "year",
        "copies_total",
        "copies_available",
    ] {
        assert!(r.body.get(field).is_some(), "missing {field}");
    }
    assert_eq!(r.body["copies_total"], r.body["copies_available"]);
    assert_eq!(app.get("/books/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/books/abc").await.status, StatusCode::BAD_REQUEST);
}
on_both!(book_by_id);

async fn librarians_write_books(app: &TestApp) {
    let body =
        json!({"isbn": "123", "title": "New", "author": "Someone", "year": 1999, "copies": 3});
    let none = app
        .request(Method::POST, "/books", None, Some(body.clone()))
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    let member = app.login("member1@library.test").await;
    let r = app
        .request(Method::POST, "/books", Some(&member), Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let librarian = app.librarian().await;
    let created = app
        .request(Method::POST, "/books", Some(&librarian), Some(body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    assert!(id > 60, "new ids come after the seed");
    assert_eq!(created.body["copies_available"], 3);

    // Warm the cache, then update: the read must see the change.
    assert_eq!(app.get(&format!("/books/{id}")).await.body["title"], "New");
    let update =
        json!({"isbn": "123", "title": "Renamed", "author": "Someone", "year": 2001, "copies": 5});
    let r = app
        .request(
            Method::PUT,
            &format!("/books/{id}"),
            Some(&librarian),
            Some(update.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (
            r.body["copies_total"].as_i64(),
            r.body["copies_available"].as_i64()
        ),
        (Some(5), Some(5))
    );
    assert_eq!(
        app.get(&format!("/books/{id}")).await.body["title"],
        "Renamed"
    );
    let r = app
        .request(Method::PUT, "/books/999999", Some(&librarian), Some(update))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
on_both!(librarians_write_books);
