//! A run steered while it goes: the live plan every generator follows
//! ([`Live`], sent from the control room and, in a distributed run, from the
//! manager to each worker as its share), and how each load model follows it:
//! goose's users get the rest of the plan through goose's own controller at
//! the second it applies from (`super::steer_goose`); the open model's dispatcher switches its
//! schedule there (`super::open`); a pause holds every user before its next
//! task, its connection kept.

use crate::shape::Shape;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The plan as steered so far, and whether users are paused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Live {
    /// The whole plan from the run's start, with every change made to it
    /// (a worker's: its share of it).
    pub shape: Shape,
    /// The run second the latest change applies from: generators follow
    /// `shape.rest_from(from_secs)` from then on.
    pub from_secs: u64,
    /// Users hold before their next task (their connections kept); the open
    /// model starts no arrivals.
    pub paused: bool,
}

/// What a generator follows: the live plan, and where its own workload
/// starts in the run (a worker that took a new share mid-run starts later).
#[derive(Clone, Debug)]
pub struct Steer {
    pub rx: watch::Receiver<Live>,
    /// The run second at which this workload's own shape starts.
    pub offset_secs: u64,
}

impl Steer {
    /// The change to follow, if the plan changed since last asked: when it
    /// applies (seconds from this workload's start) and the plan from then on.
    pub fn take_change(&mut self, followed: &mut Shape) -> Option<(u64, Shape)> {
        if !self.rx.has_changed().unwrap_or(false) {
            return None;
        }
        let live = self.rx.borrow_and_update().clone();
        if live.shape == *followed {
            return None;
        }
        *followed = live.shape.clone();
        let from = live.from_secs.max(self.offset_secs);
        Some((from - self.offset_secs, live.shape.rest_from(from)))
    }

    /// The level the live plan has just before run second `from` (where the
    /// users are when a change applies there).
    pub fn level_before(&self, from_local: u64) -> u64 {
        let at = from_local + self.offset_secs;
        if at == 0 {
            return 0;
        }
        self.rx.borrow().shape.level_at(at as f64 - 0.001).round() as u64
    }

    pub fn paused(&self) -> bool {
        self.rx.borrow().paused
    }

    /// Holds while users are paused; `false` if `stop` came first (the task
    /// is then not run).
    pub async fn wait_while_paused(&self, stop: &CancellationToken) -> bool {
        if !self.paused() {
            return true;
        }
        let mut rx = self.rx.clone();
        tokio::select! {
            resumed = rx.wait_for(|live| !live.paused) => resumed.is_ok(),
            _ = stop.cancelled() => false,
        }
    }

    /// The end of this workload's plan as it is steered: sent on the returned
    /// channel whenever it moves.
    pub fn plan_end(&self, start: Instant, planned: Instant) -> watch::Receiver<Instant> {
        let (tx, rx) = watch::channel(planned);
        let mut steer = self.clone();
        let mut followed = steer.rx.borrow().shape.clone();
        tokio::spawn(async move {
            while steer.rx.changed().await.is_ok() {
                // Marked changed again, so take_change sees it.
                steer.rx.mark_changed();
                if let Some((from, rest)) = steer.take_change(&mut followed) {
                    let end = start + Duration::from_secs(from + rest.total_secs());
                    if tx.send(end).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }
}

/// Where a run's generators find their live plan: the sender the control
/// room changes, and the run's start (set when the load starts).
#[derive(Clone)]
pub struct LivePlan {
    pub tx: watch::Sender<Live>,
    pub started: Arc<OnceLock<Instant>>,
}

impl LivePlan {
    pub fn new(shape: &Shape) -> LivePlan {
        let (tx, _) = watch::channel(Live {
            shape: shape.clone(),
            from_secs: 0,
            paused: false,
        });
        LivePlan {
            tx,
            started: Arc::new(OnceLock::new()),
        }
    }

    /// What a generator of this process follows from the run's start.
    pub fn steer(&self) -> Steer {
        Steer {
            rx: self.tx.subscribe(),
            offset_secs: 0,
        }
    }

    pub fn now(&self) -> Live {
        self.tx.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_is_followed_from_its_second_with_the_rest_of_the_plan() {
        let shape = Shape::parse_plan("10,10s;10,50s").unwrap();
        let plan = LivePlan::new(&shape);
        let mut steer = Steer {
            offset_secs: 5,
            ..plan.steer()
        };
        let mut followed = shape.clone();
        assert!(steer.take_change(&mut followed).is_none());
        plan.tx.send_modify(|live| {
            live.shape = shape.steered(20, 40, 10);
            live.from_secs = 20;
        });
        let (from, rest) = steer.take_change(&mut followed).unwrap();
        assert_eq!(from, 15, "seconds from this workload's own start");
        assert_eq!(rest.level_at(0.0), 10.0);
        assert_eq!(rest.level_at(5.0), 25.0);
        assert_eq!(rest.total_secs(), 40);
        // A pause alone changes no plan.
        plan.tx.send_modify(|live| live.paused = true);
        assert!(steer.take_change(&mut followed).is_none());
        assert!(steer.paused());
    }

    #[tokio::test]
    async fn a_paused_user_waits_for_the_resume_or_the_stop() {
        let shape = Shape::parse_plan("1,10s").unwrap();
        let plan = LivePlan::new(&shape);
        let steer = plan.steer();
        let stop = CancellationToken::new();
        assert!(steer.wait_while_paused(&stop).await);
        plan.tx.send_modify(|live| live.paused = true);
        let waiting = {
            let (steer, stop) = (steer.clone(), stop.clone());
            tokio::spawn(async move { steer.wait_while_paused(&stop).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        plan.tx.send_modify(|live| live.paused = false);
        assert!(waiting.await.unwrap());
        plan.tx.send_modify(|live| live.paused = true);
        stop.cancel();
        assert!(!steer.wait_while_paused(&stop).await);
    }
}
