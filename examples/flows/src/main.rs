//! A worked example to copy: a shopper logs in with an account from a CSV
//! feeder, keeps the token it gets, creates an order and follows its
//! `Location`, uploads a receipt, reads a rate-limited page where a 429 is a
//! fine answer, and the whole checkout is timed as one flow and counted. The
//! run's setup opens a sale the shoppers buy from; its teardown closes it.
//!
//! `cargo run --release -p example-flows -- run plan:"20,10s;20,30s" --host http://127.0.0.1:8080`

use loadgen::prelude::*;

/// The shopper's checkout: every request of it timed together as `FLOW checkout`.
async fn checkout(mut vu: Vu<'_>) -> TaskResult {
    let flow = vu.measure("checkout");
    let sale = vu.setup_data()["sale"].as_u64().unwrap_or(0);
    vu.post("/orders")
        .json(json!({ "sale": sale, "item": rand::random_range(1..=50) }))
        .expect(201)
        .capture("order", header("Location"))
        .send()
        .await?;
    let order = vu.var("order").unwrap_or_default().to_string();
    vu.get(order)
        .name("/orders/{id}")
        .check(|r| match r.json::<Value>() {
            Ok(o) if o["state"] == "open" => Ok(()),
            _ => Err("the order is not open".into()),
        })
        .send()
        .await?;
    let receipt = Multipart::new().text("kind", "receipt").file(
        "file",
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/receipt.txt"),
        "text/plain",
    )?;
    vu.post("/uploads")
        .multipart(receipt)
        .expect(201)
        .send()
        .await?;
    flow.done();
    vu.count("orders_created", 1);
    Ok(())
}

/// A page behind a rate limit: a 429 is an answer the shopper expects.
async fn browse(mut vu: Vu<'_>) -> TaskResult {
    vu.get("/deals")
        .query("page", rand::random_range(1..=5))
        .expect_any(&[200, 429])
        .send()
        .await?;
    Ok(())
}

/// Each shopper logs in once, with its own account from the feeder.
async fn log_in(mut vu: Vu<'_>) -> TaskResult {
    let account = vu.feed("accounts").await?;
    let (email, password) = (
        account.get("email").unwrap_or_default(),
        account.get("password").unwrap_or_default(),
    );
    vu.post("/login")
        .form(&[("email", email), ("password", password)])
        .capture("token", json("/token"))
        .send()
        .await?;
    let token = vu.var("token").unwrap_or_default().to_string();
    vu.set_header("authorization", format!("Bearer {token}"));
    Ok(())
}

async fn log_out(mut vu: Vu<'_>) -> TaskResult {
    vu.post("/logout").send().await?;
    Ok(())
}

/// Once before the shoppers: opens the sale they buy from.
async fn open_sale(mut vu: Vu<'_>) -> Result<Value, TaskError> {
    vu.post("/sales")
        .capture("sale", json("/id"))
        .expect(201)
        .send()
        .await?;
    let sale: u64 = vu.var("sale").unwrap_or("0").parse()?;
    Ok(json!({ "sale": sale }))
}

/// Once after, even when the run was interrupted: closes the sale.
async fn close_sale(mut vu: Vu<'_>) -> TaskResult {
    let sale = vu.setup_data()["sale"].as_u64().unwrap_or(0);
    vu.delete(format!("/sales/{sale}"))
        .name("/sales/{id}")
        .send()
        .await?;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let shopper = ScenarioDef::new("shopper")
        .think(Duration::from_millis(500), Duration::from_millis(1500))
        .header("accept", "application/json")
        .on_start("log in", task!(log_in))
        .task("checkout", 1, task!(checkout))
        .task("browse deals", 3, task!(browse))
        .on_stop("log out", task!(log_out));
    App::new()
        .scenario(shopper)
        .feeder(
            "accounts",
            Feeder::csv(concat!(env!("CARGO_MANIFEST_DIR"), "/data/accounts.csv"))
                .order(Order::Unique),
        )
        .setup(setup!(open_sale))
        .teardown(task!(close_sale))
        .main()
}
