//! The goose attack for a workload: configuration, the shape as goose's test
//! plan, one shared HTTP client, and our scenarios registered on it.

use super::transport::VuContext;
use super::Workload;
use crate::shape::Shape;
use crate::Error;
use goose::client::GooseClientBuilder;
use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::GooseAttack;
use std::sync::Arc;

/// The goose test plan of a shape (`users,secs;...`), ending with every user stopped.
///
/// A zero-length stage at the level already reached changes nothing, and
/// goose waits for ever in such a step (its hold of 0 s never ends), so it is
/// left out; a zero-length stage to another level is a jump, which goose makes
/// at once. Shapes scaled to a short `--duration` have both.
pub fn test_plan(shape: &Shape) -> String {
    let mut level = 0;
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

/// A goose attack that runs `workload`'s users, their requests going through `ctx`.
pub fn attack(workload: &Workload, ctx: &Arc<VuContext>) -> Result<GooseAttack, Error> {
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
    let timeout = workload.spec.request_timeout();
    attack = *attack
        .set_default(
            GooseDefault::Timeout,
            timeout.as_secs_f64().to_string().as_str(),
        )
        .map_err(config_err)?;
    for flag in [
        GooseDefault::NoMetrics,
        GooseDefault::NoPrintMetrics,
        GooseDefault::NoTelnet,
    ] {
        attack = *attack.set_default(flag, true).map_err(config_err)?;
    }
    attack = *attack
        .set_default(GooseDefault::Quiet, 1usize)
        .map_err(config_err)?;
    // One client shared by every user (goose's default builds one per user,
    // ~100 KB each), so idle users cost little. It carries the requests of the
    // shared connection model; per-user connections are the users' own.
    let client = GooseClientBuilder::new()
        .without_cookies()
        .timeout(timeout)
        .user_agent(concat!("loadgen/", env!("CARGO_PKG_VERSION")));
    attack = attack
        .set_client_builder_without_cookies(client)
        .map_err(config_err)?;
    for def in &workload.scenarios {
        attack = attack.register_scenario(def.to_goose(ctx).map_err(Error::Usage)?);
    }
    Ok(attack)
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
