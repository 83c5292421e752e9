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
use std::time::Duration;

/// The goose test plan of a shape (`users,secs;...`), ending with every user stopped.
pub fn test_plan(shape: &Shape) -> String {
    let mut plan: Vec<String> = shape
        .stages
        .iter()
        .map(|s| format!("{},{}s", s.level, s.secs))
        .collect();
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
    let timeout_secs = workload.spec.request_timeout_secs;
    attack = *attack
        .set_default(GooseDefault::Timeout, timeout_secs.to_string().as_str())
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
        .timeout(Duration::from_secs(timeout_secs))
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
}
