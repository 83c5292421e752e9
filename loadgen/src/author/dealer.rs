//! What a feeder asks of the run's manager in a distributed run: a row of a
//! queue or unique feeder is dealt to a user when it asks for one, from one
//! pool for the whole run, so no row goes to two users, and the rows a lost
//! worker never asked for go to the others. The worker's side of the
//! protocol (`distributed::rows`) answers these asks.

use tokio::sync::{mpsc, oneshot};

/// What the manager dealt a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dealt {
    /// The row at this place in the file (0 = the first row of data).
    Row(u64),
    /// None left: the feeder's policy decides what the user does.
    Out,
    /// The manager cannot deal this feeder's rows, and why.
    Refused(String),
}

/// One user's ask for a row, with what the manager checks every worker agrees on.
pub struct RowAsk {
    pub feeder: String,
    /// Rows in this worker's copy of the file.
    pub rows_in_file: u64,
    /// Each row once in random order (`Order::Unique`), or in file order.
    pub unique: bool,
    /// Start over when the rows run out (`Exhausted::Recycle`).
    pub recycle: bool,
    pub reply: oneshot::Sender<Dealt>,
}

/// Where a worker's users send their asks.
#[derive(Clone, Debug)]
pub struct RowDealer(mpsc::UnboundedSender<RowAsk>);

impl RowDealer {
    /// A dealer, and the asks it passes on.
    pub fn new() -> (RowDealer, mpsc::UnboundedReceiver<RowAsk>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (RowDealer(tx), rx)
    }

    /// Waits for the manager to deal this user a row.
    pub async fn ask(&self, feeder: &str, rows_in_file: u64, unique: bool, recycle: bool) -> Dealt {
        let (reply, answer) = oneshot::channel();
        let ask = RowAsk {
            feeder: feeder.to_string(),
            rows_in_file,
            unique,
            recycle,
            reply,
        };
        if self.0.send(ask).is_err() {
            return Dealt::Refused("this worker's link to the manager is closed".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Dealt::Refused("the manager did not deal a row".into()))
    }
}
