//! The outbox relay: leases unsent rows, publishes them pipelined (all sent,
//! then the broker's confirms taken in order), then marks what was confirmed
//! sent in one statement.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Publisher;
use crate::clock::{rfc3339, unix_millis};
use crate::store::Store;

const BATCH: i64 = 100;
const LEASE_MS: i64 = 30_000;
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// What one relay pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayOutcome {
    pub published: usize,
    pub failed: usize,
}

/// One pass: stops at the first failure so events leave in order, and gives back
/// the lease of what it could not send, so the next pass retries at once (a
/// relay that dies mid-pass leaves leases that expire instead). Delivery is at
/// least once (consumers dedupe by message id).
pub async fn relay_once(
    store: &dyn Store,
    publisher: &dyn Publisher,
) -> anyhow::Result<RelayOutcome> {
    let mut outcome = RelayOutcome::default();
    let claimed = store.claim_outbox(BATCH, LEASE_MS).await?;
    let last = claimed.iter().map(|e| e.id).max().unwrap_or(0);
    // The whole batch goes out before any confirm is awaited (pipelined); what
    // counts as sent is the confirmed run from the first event on.
    let (confirmed, failure) = publisher.publish_all(&claimed).await;
    let sent: Vec<i64> = claimed[..confirmed].iter().map(|e| e.id).collect();
    let mut unsent = None;
    if let (Some(e), Some(event)) = (failure, claimed.get(confirmed)) {
        tracing::warn!(error = %e, event = event.id, "outbox publish failed; will retry");
        outcome.failed += 1;
        unsent = Some(event.id);
    }
    // One statement for the whole pass instead of one transaction per event: if the
    // relay dies before it, the lease expires and the events go out again (at least once).
    store.mark_sent(&sent).await?;
    outcome.published = sent.len();
    if let Some(first) = unsent {
        store.release_outbox(first, last).await?;
    }
    Ok(outcome)
}

/// Relays until `shutdown`, polling every `every` (sooner while there is a backlog),
/// and deletes rows sent more than `retention` ago about once a minute.
pub async fn run_relay(
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    every: Duration,
    retention: Duration,
    shutdown: CancellationToken,
) {
    let mut last_prune = Instant::now();
    loop {
        let pause = match relay_once(store.as_ref(), publisher.as_ref()).await {
            Ok(o) if o.published as i64 >= BATCH => Duration::ZERO,
            Ok(_) => every,
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay pass failed");
                every * 5
            }
        };
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            let cutoff = rfc3339(unix_millis() - retention.as_millis() as i64);
            match store.prune_outbox(&cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "pruned sent outbox rows"),
                Err(e) => tracing::warn!(error = %e, "outbox prune failed"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
