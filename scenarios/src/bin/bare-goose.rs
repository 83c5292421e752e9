//! Bare goose, without loadgen's layers, running the same `http-get` scenario:
//! the baseline of the generator benchmark. Takes goose's own flags
//! (`--host`, `--users`, `--run-time`, ...).

use goose::prelude::*;

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _ = user.get("/").await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    GooseAttack::initialize()?
        .register_scenario(scenario!("http-get").register_transaction(transaction!(get_root)))
        .execute()
        .await?;
    Ok(())
}
