//! The goose attack for a workload: configuration, the shape as goose's test
//! plan, one shared HTTP client, and our scenarios registered on it.

use super::Workload;
use crate::author::context::VuContext;
use crate::author::runner::{persona_of, TaskRunner};
use crate::author::scenario::{ScenarioDef, When};
use crate::shape::Shape;
use crate::Error;
use goose::client::GooseClientBuilder;
use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::goose::{GooseUser, Scenario, Transaction, TransactionFunction};
use goose::GooseAttack;
use std::sync::Arc;

/// The goose test plan of a shape (`users,secs;...`), ending with every user stopped.
///
/// A zero-length stage at the level already reached changes nothing, and
/// goose waits for ever in such a step (its hold of 0 s never ends), so it is
/// left out; a zero-length stage to another level is a jump, which goose makes
/// at once. Shapes scaled to a short `--duration` have both.
pub fn test_plan(shape: &Shape) -> String {
    test_plan_from(shape, 0)
}

/// The goose test plan of `shape` for users already at `level` (the rest of
/// a steered plan, which starts where the run is).
pub fn test_plan_from(shape: &Shape, level: u64) -> String {
    let mut level = level;
    let mut plan: Vec<String> = Vec::with_capacity(shape.stages.len() + 1);
    for s in &shape.stages {
        if s.secs == 0 && s.level == level {
            continue;
        }
        plan.push(format!("{},{}s", s.level, s.secs));
        level = s.level;
    }
    plan.push("0,0s".into());
    plan.join(";")
}

/// A goose attack that runs `workload`'s users, their requests going through
/// `ctx`; with `controller`, goose's telnet controller listens on that
/// loopback port (how a steered run changes its users).
pub fn attack(
    workload: &Workload,
    ctx: &Arc<VuContext>,
    controller: Option<u16>,
) -> Result<GooseAttack, Error> {
    let config_err =
        |e: goose::GooseError| Error::Usage(format!("goose refused the configuration: {e:?}"));
    let config = GooseConfiguration::parse_args_default::<&str>(&[]).map_err(config_err)?;
    let mut attack = GooseAttack::initialize_with_config(config).map_err(config_err)?;
    attack = *attack
        .set_default(GooseDefault::Host, workload.host.as_str())
        .map_err(config_err)?;
    attack = *attack
        .set_default(GooseDefault::TestPlan, test_plan(&workload.shape).as_str())
        .map_err(config_err)?;
    for flag in [GooseDefault::NoMetrics, GooseDefault::NoPrintMetrics] {
        attack = *attack.set_default(flag, true).map_err(config_err)?;
    }
    attack = match controller {
        Some(port) => {
            attack = *attack
                .set_default(GooseDefault::TelnetHost, "127.0.0.1")
                .map_err(config_err)?;
            *attack
                .set_default(GooseDefault::TelnetPort, usize::from(port))
                .map_err(config_err)?
        }
        None => *attack
            .set_default(GooseDefault::NoTelnet, true)
            .map_err(config_err)?,
    };
    attack = *attack
        .set_default(GooseDefault::Quiet, 1usize)
        .map_err(config_err)?;
    // goose gives each user a reqwest client; by default one per user (~100 KB
    // each). Requests go through our client room, never through it, so every
    // user shares one idle client and costs nothing for it.
    attack = attack
        .set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())
        .map_err(config_err)?;
    for def in &workload.scenarios {
        attack = attack.register_scenario(to_goose(def, ctx).map_err(Error::Usage)?);
    }
    Ok(attack)
}

/// A scenario as goose's: its tasks wrapped so every request is recorded, plus
/// the user gauge (counted up on start, down on stop).
fn to_goose(def: &ScenarioDef, ctx: &Arc<VuContext>) -> Result<Scenario, String> {
    let err = |e: goose::GooseError| format!("scenario '{}': {e}", def.name);
    let mut scenario = Scenario::new(&def.name)
        .set_weight(def.weight)
        .map_err(err)?;
    if let Some((min, max)) = def.think_time() {
        scenario = scenario.set_wait_time(min, max).map_err(err)?;
    }
    let persona = persona_of(def);
    let up = ctx.recorder.clone();
    let started: TransactionFunction = Arc::new(move |_: &mut GooseUser| {
        up.user_started();
        Box::pin(async { Ok(()) })
    });
    let down = ctx.recorder.clone();
    let stopped: TransactionFunction = Arc::new(move |_: &mut GooseUser| {
        down.user_stopped();
        Box::pin(async { Ok(()) })
    });
    scenario = scenario
        .register_transaction(
            Transaction::new(started)
                .set_name("user start")
                .set_on_start(),
        )
        .register_transaction(
            Transaction::new(stopped)
                .set_name("user stop")
                .set_on_stop(),
        );
    for task in def.tasks() {
        let runner = Arc::new(TaskRunner::new(task, ctx, &persona));
        let function: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
            let runner = runner.clone();
            Box::pin(async move {
                runner.run(user).await;
                Ok(())
            })
        });
        let mut t = Transaction::new(function)
            .set_name(&task.name)
            .set_weight(task.weight)
            .map_err(err)?;
        t = match task.when {
            When::Start => t.set_on_start(),
            When::Stop => t.set_on_stop(),
            When::Loop => t,
        };
        scenario = scenario.register_transaction(t);
    }
    Ok(scenario)
}

/// The idle reqwest client a goose user must carry (the open model makes its
/// users itself): requests never go through it.
pub fn idle_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .build()
        .map_err(|e| Error::Run(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_plan_ends_with_every_user_stopped() {
        let shape = Shape::parse_plan("60,1m;60,30s").unwrap();
        assert_eq!(test_plan(&shape), "60,60s;60,30s;0,0s");
    }

    #[test]
    fn the_rest_of_a_steered_plan_starts_where_the_users_are() {
        let shape = Shape::parse_plan("4,0s;4,30s").unwrap().steered(5, 9, 0);
        let rest = shape.rest_from(5);
        assert_eq!(test_plan_from(&rest, 4), "9,0s;9,25s;0,0s");
        // Fewer at once: the jump down is kept, so goose makes it at once.
        let fewer = shape.steered(10, 2, 0).rest_from(10);
        assert_eq!(test_plan_from(&fewer, 9), "2,0s;2,20s;0,0s");
        let ramp = shape.steered(10, 2, 4).rest_from(10);
        assert_eq!(test_plan_from(&ramp, 9), "2,4s;2,16s;0,0s");
    }

    #[test]
    fn zero_length_holds_are_left_out_and_jumps_kept() {
        let shape = Shape::parse_plan("2,1s;2,0s;3,2s;5,0s;5,0s;5,1s").unwrap();
        assert_eq!(test_plan(&shape), "2,1s;3,2s;5,0s;5,1s;0,0s");
        // `stages --duration 10s` ends in a 0 s hold, then a 0 s ramp.
        let shape = Shape::named("stages").unwrap().scaled(None, Some(10));
        assert!(
            !test_plan(&shape).contains("8000,0s"),
            "{}",
            test_plan(&shape)
        );
    }
}
