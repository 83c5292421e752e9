//! What a person sees while a run goes: a status line every few seconds (headless).

use crate::cli::RunArgs;
use crate::console;
use crate::runner::Tick;
use crate::shape::Shape;

/// The per-second observer for this run's output mode.
pub fn reporter(args: &RunArgs, shape: &Shape) -> impl FnMut(&Tick) + Send + 'static {
    let every = args.status_every.max(1);
    let shape = shape.clone();
    move |tick: &Tick| {
        if (tick.second + 1) % every == 0 {
            let planned = shape.users_at(tick.second as f64 + 1.0);
            eprintln!(
                "{}",
                console::status_line(tick, shape.total_secs(), planned)
            );
        }
    }
}
