//! A loopback HTTP target for generator benchmarks: `GET /` answers "ok",
//! `GET /count` how many `/` requests it has served.
//! Usage: bench-target ADDR [FREEZE]
//! FREEZE (e.g. `10ms,1s/5s`) makes `/` answer after 10 ms, and hold every
//! answer during the last 1 s of each 5 s until that freeze ends: a target
//! with a known latency distribution (a GC pause, a failover) for the
//! coordinated-omission benchmark (scripts/bench/freeze.sh).

use axum::routing::get;
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Answer after `service`; in the last `freeze` of every `period`, wait it out first.
#[derive(Clone, Copy)]
struct Freeze {
    service: Duration,
    freeze: f64,
    period: f64,
}

fn parse_freeze(text: &str) -> Option<Freeze> {
    let (service, rest) = text.split_once(',')?;
    let (freeze, period) = rest.split_once('/')?;
    let secs = |t: &str| -> Option<f64> {
        match t.strip_suffix("ms") {
            Some(ms) => ms.parse::<f64>().ok().map(|v| v / 1000.0),
            None => t.strip_suffix('s')?.parse().ok(),
        }
    };
    Some(Freeze {
        service: Duration::from_secs_f64(secs(service)?),
        freeze: secs(freeze)?,
        period: secs(period)?,
    })
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18080".into());
    let freeze = match args.next() {
        None => None,
        Some(text) => match parse_freeze(&text) {
            Some(f) => Some(f),
            None => {
                eprintln!("bench-target: FREEZE '{text}' is not like 10ms,1s/5s");
                return std::process::ExitCode::from(2);
            }
        },
    };
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let t0 = Instant::now();
    let app = Router::new()
        .route(
            "/",
            get(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    if let Some(f) = freeze {
                        let t = t0.elapsed().as_secs_f64() % f.period;
                        let wait = if t >= f.period - f.freeze {
                            f.period - t
                        } else {
                            0.0
                        };
                        tokio::time::sleep(Duration::from_secs_f64(wait) + f.service).await;
                    }
                    "ok"
                }
            }),
        )
        .route(
            "/count",
            get(move || async move { served.load(Ordering::Relaxed).to_string() }),
        );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bench-target: cannot bind {addr}: {e}");
                return std::process::ExitCode::from(3);
            }
        };
        let _ = axum::serve(listener, app).await;
        std::process::ExitCode::SUCCESS
    })
}
