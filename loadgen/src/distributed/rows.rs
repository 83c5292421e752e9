//! Feeder rows dealt by the manager. On the manager, one pool per feeder hands
//! out rows on demand, each once (until a recycling feeder starts over), to the
//! worker whose users wait for them; on each worker, its users' asks go out as
//! one request per feeder at a time. A worker only ever holds rows its users
//! asked for, so a lost worker takes with it only rows it used (or was using),
//! and every row it never asked for goes to the others.

use super::protocol::{Message, RowsDealt, RowsWanted};
use crate::author::dealer::{Dealt, RowAsk, RowDealer};
use std::collections::{BTreeMap, VecDeque};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

/// Most feeders the manager deals for (a peer cannot make it keep more).
pub const MAX_FEEDERS: usize = 64;
/// Most rows one request is dealt.
pub const MAX_WANT: u32 = 4096;
/// Longest feeder name the manager takes.
const MAX_NAME_BYTES: usize = 128;

/// The manager's pools, by feeder.
#[derive(Default)]
pub(crate) struct Pools(BTreeMap<String, Pool>);

/// One feeder's rows: this round's order is a permutation of the rows
/// (`row(i) = (a * i + b) mod rows`: file order for a queue, a random one
/// for a unique feeder), and rows given back are dealt first.
struct Pool {
    rows: u64,
    unique: bool,
    recycle: bool,
    next: u64,
    a: u64,
    b: u64,
    returned: Vec<u64>,
    dealt: u64,
    rounds: u64,
}

impl Pool {
    fn new(rows: u64, unique: bool, recycle: bool) -> Pool {
        let mut pool = Pool {
            rows,
            unique,
            recycle,
            next: 0,
            a: 1,
            b: 0,
            returned: Vec::new(),
            dealt: 0,
            rounds: 1,
        };
        pool.shuffle();
        pool
    }

    /// A new order for the round: a multiplier prime to the row count and an offset.
    fn shuffle(&mut self) {
        if !self.unique || self.rows < 2 {
            return;
        }
        self.b = rand::random_range(0..self.rows);
        self.a = loop {
            let a = rand::random_range(1..self.rows);
            if gcd(a, self.rows) == 1 {
                break a;
            }
        };
    }

    fn row(&self, i: u64) -> u64 {
        ((u128::from(self.a) * u128::from(i) + u128::from(self.b)) % u128::from(self.rows)) as u64
    }

    /// Up to `want` rows; fewer when none are left.
    fn take(&mut self, want: u32) -> Vec<u64> {
        let want = want.min(MAX_WANT) as usize;
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            if let Some(row) = self.returned.pop() {
                out.push(row);
                continue;
            }
            if self.next == self.rows {
                if !self.recycle {
                    break;
                }
                self.next = 0;
                self.rounds += 1;
                self.shuffle();
            }
            out.push(self.row(self.next));
            self.next += 1;
        }
        self.dealt += out.len() as u64;
        out
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Pools {
    /// Deals a worker the rows it wants, or says why it cannot.
    pub fn deal(&mut self, wanted: &RowsWanted) -> RowsDealt {
        let name = &wanted.feeder;
        let refuse = |why: String| RowsDealt {
            feeder: name.clone(),
            rows: Vec::new(),
            out: true,
            refused: Some(why),
        };
        if name.len() > MAX_NAME_BYTES || wanted.rows_in_file == 0 {
            return refuse("the manager deals no rows for this feeder".into());
        }
        if !self.0.contains_key(name) && self.0.len() >= MAX_FEEDERS {
            return refuse(format!(
                "the manager deals for at most {MAX_FEEDERS} feeders"
            ));
        }
        let pool = self
            .0
            .entry(name.clone())
            .or_insert_with(|| Pool::new(wanted.rows_in_file, wanted.unique, wanted.recycle));
        if (pool.rows, pool.unique, pool.recycle)
            != (wanted.rows_in_file, wanted.unique, wanted.recycle)
        {
            return refuse(format!(
                "this worker's file has {} rows (unique {}, recycle {}), the first worker's {} (unique {}, recycle {}): give every worker the same file and feeder",
                wanted.rows_in_file, wanted.unique, wanted.recycle, pool.rows, pool.unique, pool.recycle
            ));
        }
        let rows = pool.take(wanted.want);
        RowsDealt {
            feeder: name.clone(),
            out: rows.len() < wanted.want.min(MAX_WANT) as usize,
            rows,
            refused: None,
        }
    }

    /// Takes back rows dealt after the users who asked had gone.
    pub fn take_back(&mut self, returned: RowsDealt) {
        let Some(pool) = self.0.get_mut(&returned.feeder) else {
            return;
        };
        for row in returned.rows {
            // Only as many as were dealt, and only rows of the file.
            if row < pool.rows && pool.dealt > 0 {
                pool.returned.push(row);
                pool.dealt -= 1;
            }
        }
    }

    /// A line per feeder: rows dealt of the file's, and rounds when recycled.
    pub fn report(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(name, p)| {
                let rounds = if p.rounds > 1 {
                    format!(" over {} rounds", p.rounds)
                } else {
                    String::new()
                };
                format!(
                    "feeder '{name}': {} of {} rows dealt{rounds}",
                    p.dealt, p.rows
                )
            })
            .collect()
    }
}

/// Users waiting on one feeder, on a worker.
struct Waiting {
    users: VecDeque<oneshot::Sender<Dealt>>,
    asked: bool,
    /// What every later ask is answered: none left, or refused.
    ended: Option<Dealt>,
    rows_in_file: u64,
    unique: bool,
    recycle: bool,
}

/// A worker's dealer: its users' asks go to the manager through `to_manager`
/// (held weakly: the worker's link closes when its own senders are gone);
/// the manager's answers come in on the returned sender.
pub(crate) fn worker_dealer(
    to_manager: &UnboundedSender<Message>,
) -> (RowDealer, UnboundedSender<RowsDealt>) {
    let (dealer, asks) = RowDealer::new();
    let (dealt_tx, dealt) = mpsc::unbounded_channel();
    tokio::spawn(serve(asks, dealt, to_manager.downgrade()));
    (dealer, dealt_tx)
}

async fn serve(
    mut asks: UnboundedReceiver<RowAsk>,
    mut dealt: UnboundedReceiver<RowsDealt>,
    to_manager: mpsc::WeakUnboundedSender<Message>,
) {
    let send = |m: Message| to_manager.upgrade().is_some_and(|tx| tx.send(m).is_ok());
    let mut feeders: BTreeMap<String, Waiting> = BTreeMap::new();
    loop {
        tokio::select! {
            ask = asks.recv() => {
                let Some(ask) = ask else { break };
                let w = feeders.entry(ask.feeder.clone()).or_insert_with(|| Waiting {
                    users: VecDeque::new(),
                    asked: false,
                    ended: None,
                    rows_in_file: ask.rows_in_file,
                    unique: ask.unique,
                    recycle: ask.recycle,
                });
                if let Some(end) = &w.ended {
                    let _ = ask.reply.send(end.clone());
                    continue;
                }
                w.users.push_back(ask.reply);
                if !w.asked {
                    w.asked = send(Message::Rows(wanted(&ask.feeder, w)));
                }
            }
            answer = dealt.recv() => {
                let Some(answer) = answer else { break };
                let Some(w) = feeders.get_mut(&answer.feeder) else { continue };
                w.asked = false;
                let mut spare = Vec::new();
                for row in answer.rows {
                    loop {
                        match w.users.pop_front() {
                            // A user that has gone (its task cut) passes its turn on.
                            Some(user) => if user.send(Dealt::Row(row)).is_ok() { break },
                            None => { spare.push(row); break }
                        }
                    }
                }
                if !spare.is_empty() {
                    send(Message::Returned(RowsDealt { feeder: answer.feeder.clone(), rows: spare, out: false, refused: None }));
                }
                if let Some(why) = answer.refused {
                    w.ended = Some(Dealt::Refused(why));
                } else if answer.out {
                    w.ended = Some(Dealt::Out);
                }
                match &w.ended {
                    Some(end) => for user in w.users.drain(..) {
                        let _ = user.send(end.clone());
                    },
                    None if !w.users.is_empty() => {
                        w.asked = send(Message::Rows(wanted(&answer.feeder, w)));
                    }
                    None => {}
                }
            }
        }
    }
    // The link is gone: nobody deals any more.
    for w in feeders.values_mut() {
        for user in w.users.drain(..) {
            let _ = user.send(Dealt::Refused("lost the manager".into()));
        }
    }
}

fn wanted(feeder: &str, w: &Waiting) -> RowsWanted {
    RowsWanted {
        feeder: feeder.to_string(),
        want: u32::try_from(w.users.len())
            .unwrap_or(u32::MAX)
            .min(MAX_WANT),
        rows_in_file: w.rows_in_file,
        unique: w.unique,
        recycle: w.recycle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(feeder: &str, want: u32, rows: u64, unique: bool, recycle: bool) -> RowsWanted {
        RowsWanted {
            feeder: feeder.into(),
            want,
            rows_in_file: rows,
            unique,
            recycle,
        }
    }

    #[test]
    fn a_unique_pool_deals_every_row_once_in_a_shuffled_order() {
        let all: Vec<u64> = (0..100).collect();
        let mut orders = Vec::new();
        for _ in 0..3 {
            let mut pools = Pools::default();
            let mut seen = Vec::new();
            loop {
                let d = pools.deal(&want("u", 7, 100, true, false));
                seen.extend(d.rows);
                if d.out {
                    break;
                }
            }
            assert!(pools.deal(&want("u", 1, 100, true, false)).out);
            orders.push(seen.clone());
            seen.sort_unstable();
            assert_eq!(seen, all, "each row once");
        }
        assert!(orders.iter().any(|o| *o != all), "shuffled");
    }

    #[test]
    fn a_queue_deals_in_order_takes_rows_back_and_recycles_when_asked() {
        let mut pools = Pools::default();
        assert_eq!(pools.deal(&want("q", 3, 5, false, false)).rows, [0, 1, 2]);
        pools.take_back(RowsDealt {
            feeder: "q".into(),
            rows: vec![2, 99],
            out: false,
            refused: None,
        });
        let d = pools.deal(&want("q", 5, 5, false, false));
        assert_eq!(
            (d.rows, d.out),
            (vec![2, 3, 4], true),
            "the row given back first; 99 is no row"
        );
        let d = pools.deal(&want("r", 7, 3, false, true));
        assert_eq!((d.rows, d.out), (vec![0, 1, 2, 0, 1, 2, 0], false));
        assert!(
            pools.report()[1].contains("over 3 rounds"),
            "{:?}",
            pools.report()
        );
    }

    #[test]
    fn workers_that_disagree_on_the_file_are_told_why() {
        let mut pools = Pools::default();
        pools.deal(&want("a", 1, 200, true, false));
        let d = pools.deal(&want("a", 1, 100, true, false));
        let why = d.refused.unwrap();
        assert!(why.contains("100 rows") && why.contains("200"), "{why}");
        for i in 0..MAX_FEEDERS {
            pools.deal(&want(&format!("f{i}"), 1, 1, false, false));
        }
        assert!(pools
            .deal(&want("one more", 1, 1, false, false))
            .refused
            .is_some());
    }
}
