//! Named sets of rules (`--profile`): the reference 10,000-user result and an API SLO.

use super::rule::Rule;

/// A named set of rules.
pub fn profile(name: &str) -> Result<Vec<Rule>, String> {
    let texts: &[&str] = match name {
        "reference-10k" => &["error-rate<1%", "p50<2s", "p95<5s", "p99<10s", "rps>1000"],
        "api-slo" => &["error-rate<1%", "p50<100ms", "p95<500ms", "p99<1s"],
        "none" => &[],
        _ => {
            return Err(format!(
                "unknown profile '{name}': use reference-10k, api-slo or none"
            ))
        }
    };
    Ok(texts
        .iter()
        .map(|t| Rule::parse(t).expect("profile rules parse"))
        .collect())
}

/// The profile's rules followed by the user's.
/// The rule a run with no threshold at all is still judged by (unless
/// `--allow-failures`): a run where most requests fail must not pass.
pub const NO_THRESHOLD_RULE: &str = "error-rate<10%";

pub fn rules(profile_name: &str, extra: &[String]) -> Result<Vec<Rule>, String> {
    let mut all = profile(profile_name)?;
    for text in extra {
        all.push(Rule::parse(text)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_exist_and_unknown_is_an_error() {
        assert_eq!(profile("reference-10k").unwrap().len(), 5);
        assert_eq!(profile("api-slo").unwrap().len(), 4);
        assert!(profile("none").unwrap().is_empty());
        assert!(profile("fast")
            .unwrap_err()
            .contains("unknown profile 'fast'"));
    }
}
