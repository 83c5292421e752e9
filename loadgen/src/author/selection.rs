//! Which scenarios a run uses: the `--scenario` names (or every registered one,
//! by weight), the built-in `http-get` with its `--path`s, and `--think`.
//! Resolved by one function for local runs, the manager and its workers.

use super::scenario::{http_get, ScenarioDef};
use super::think::Think;
use serde::{Deserialize, Serialize};

/// The scenarios asked for, as names: it travels to workers, who resolve it
/// against the same registered scenarios.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSelection {
    /// `--scenario` (empty: every registered scenario, or http-get with --path).
    pub names: Vec<String>,
    /// `--path`, for the built-in http-get scenario.
    pub paths: Vec<String>,
    /// `--think`: every user's pause between tasks, replacing the scenarios' own.
    pub think: Option<Think>,
}

impl ScenarioSelection {
    /// The scenarios to run, with `--think` applied; an error names what is wrong.
    pub fn resolve(&self, registered: &[ScenarioDef]) -> Result<Vec<ScenarioDef>, String> {
        Ok(Think::apply(self.think, self.chosen(registered)?))
    }

    fn chosen(&self, registered: &[ScenarioDef]) -> Result<Vec<ScenarioDef>, String> {
        let wants_http_get = self.names.iter().any(|s| s == "http-get");
        if wants_http_get && self.paths.is_empty() {
            return Err(
                "the http-get scenario needs at least one --path, as in --path /books/1".into(),
            );
        }
        if !(self.paths.is_empty() || wants_http_get || self.names.is_empty()) {
            return Err("--path is for the http-get scenario: add --scenario http-get".into());
        }
        if self.names.is_empty() {
            if !self.paths.is_empty() {
                return Ok(vec![http_get(&self.paths)]);
            }
            if registered.is_empty() {
                return Err("no scenarios are registered: use --scenario http-get --path /".into());
            }
            return Ok(registered.to_vec());
        }
        self.names
            .iter()
            .map(|name| {
                if name == "http-get" {
                    return Ok(http_get(&self.paths));
                }
                registered
                    .iter()
                    .find(|s| &s.name == name)
                    .cloned()
                    .ok_or_else(|| {
                        let known: Vec<&str> = registered
                            .iter()
                            .map(|s| s.name.as_str())
                            .chain(["http-get"])
                            .collect();
                        format!(
                            "unknown scenario '{name}': registered are {}",
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered() -> Vec<ScenarioDef> {
        vec![ScenarioDef::new("reader"), ScenarioDef::new("member")]
    }

    fn names(list: &[ScenarioDef]) -> Vec<&str> {
        list.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn default_is_every_registered_scenario_or_http_get_with_paths() {
        let all = ScenarioSelection::default().resolve(&registered()).unwrap();
        assert_eq!(names(&all), ["reader", "member"]);
        let paths = ScenarioSelection {
            paths: vec!["/".into()],
            ..Default::default()
        };
        assert_eq!(names(&paths.resolve(&registered()).unwrap()), ["http-get"]);
        assert!(ScenarioSelection::default()
            .resolve(&[])
            .unwrap_err()
            .contains("no scenarios are registered"));
    }

    #[test]
    fn names_pick_scenarios_and_bad_combinations_are_named() {
        let pick = |names: &[&str], paths: &[&str]| {
            ScenarioSelection {
                names: names.iter().map(|s| s.to_string()).collect(),
                paths: paths.iter().map(|s| s.to_string()).collect(),
                think: None,
            }
            .resolve(&registered())
        };
        assert_eq!(
            names(&pick(&["member", "http-get"], &["/x"]).unwrap()),
            ["member", "http-get"]
        );
        assert!(pick(&["http-get"], &[]).unwrap_err().contains("--path"));
        assert!(pick(&["reader"], &["/x"])
            .unwrap_err()
            .contains("add --scenario http-get"));
        let err = pick(&["writer"], &[]).unwrap_err();
        assert!(
            err.contains("unknown scenario 'writer'") && err.contains("reader, member, http-get")
        );
    }
}
