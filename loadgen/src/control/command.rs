//! Changes as people write them: the control API's JSON
//! (`{"users": 500, "ramp": "30s"}`, `{"action": "pause"}`) and the
//! dashboard's prompt (`500 30s`), read into a [`Command`] for the run's model.

use super::steering::Command;
use crate::shape::LoadModel;
use crate::units::parse_secs;
use serde_json::Value;

/// What the API takes, for its errors.
pub const API_FORMS: &str = r#"{"users": N, "ramp": "30s"} (closed model), {"rate": N, "ramp": "30s"} (open), or {"action": "pause" | "resume" | "next-stage"}"#;

/// A control API request body.
pub fn from_json(body: &[u8], model: LoadModel) -> Result<Command, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not JSON ({e}): send {API_FORMS}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| format!("the body must be an object: {API_FORMS}"))?;
    if let Some(action) = object.get("action") {
        return match action.as_str() {
            Some("pause") => Ok(Command::Pause),
            Some("resume") => Ok(Command::Resume),
            Some("next-stage") => Ok(Command::NextStage),
            _ => Err(format!(
                "action {action} is not one of pause, resume, next-stage"
            )),
        };
    }
    let (key, wrong) = match model {
        LoadModel::Closed => ("users", "rate"),
        LoadModel::Open => ("rate", "users"),
    };
    if object.contains_key(wrong) && !object.contains_key(key) {
        return Err(format!(
            "this run is the {} model: set \"{key}\", not \"{wrong}\"",
            match model {
                LoadModel::Closed => "closed",
                LoadModel::Open => "open",
            }
        ));
    }
    let level = object
        .get(key)
        .ok_or_else(|| format!("nothing to change: send {API_FORMS}"))?;
    let level = level
        .as_u64()
        .ok_or_else(|| format!("\"{key}\": {level} is not a whole number"))?;
    let ramp_secs = match object.get("ramp") {
        None | Some(Value::Null) => 0,
        Some(Value::String(text)) => parse_secs(text).map_err(|e| format!("\"ramp\": {e}"))?,
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("\"ramp\": {n} is not a whole number of seconds"))?,
        Some(other) => {
            return Err(format!(
                "\"ramp\": {other} is not a duration such as \"30s\""
            ))
        }
    };
    Ok(Command::Level { level, ramp_secs })
}

/// The dashboard's prompt: `LEVEL` or `LEVEL RAMP` (`500`, `500 30s`).
pub fn from_prompt(text: &str) -> Result<Command, String> {
    let mut words = text.split_whitespace();
    let level = words.next().ok_or("type a number, then Enter")?;
    let level = level
        .parse::<u64>()
        .map_err(|_| format!("'{level}' is not a whole number"))?;
    let ramp_secs = match words.next() {
        None => 0,
        Some(ramp) => parse_secs(ramp).map_err(|e| format!("ramp: {e}"))?,
    };
    if let Some(extra) = words.next() {
        return Err(format!("'{extra}': type LEVEL [RAMP], e.g. 500 30s"));
    }
    Ok(Command::Level { level, ramp_secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reads_each_form_for_its_model() {
        let level = |level, ramp_secs| Command::Level { level, ramp_secs };
        let closed = |body: &str| from_json(body.as_bytes(), LoadModel::Closed);
        assert_eq!(closed(r#"{"users": 50, "ramp": "1m"}"#), Ok(level(50, 60)));
        assert_eq!(closed(r#"{"users": 50, "ramp": 5}"#), Ok(level(50, 5)));
        assert_eq!(closed(r#"{"users": 7}"#), Ok(level(7, 0)));
        assert_eq!(closed(r#"{"action": "pause"}"#), Ok(Command::Pause));
        assert_eq!(
            closed(r#"{"action": "next-stage"}"#),
            Ok(Command::NextStage)
        );
        assert!(closed(r#"{"rate": 5}"#)
            .unwrap_err()
            .contains("closed model"));
        assert!(closed(r#"{"users": -5}"#)
            .unwrap_err()
            .contains("whole number"));
        assert!(closed(r#"{"users": 5, "ramp": "soon"}"#)
            .unwrap_err()
            .contains("ramp"));
        assert!(closed("users=5").unwrap_err().contains("not JSON"));
        assert!(closed(r#"{"action": "explode"}"#)
            .unwrap_err()
            .contains("not one of"));
        let open = from_json(br#"{"rate": 200, "ramp": "10s"}"#, LoadModel::Open);
        assert_eq!(open, Ok(level(200, 10)));
    }

    #[test]
    fn the_prompt_takes_a_level_and_a_ramp() {
        assert_eq!(
            from_prompt(" 500 30s "),
            Ok(Command::Level {
                level: 500,
                ramp_secs: 30
            })
        );
        assert!(from_prompt("").is_err());
        assert!(from_prompt("lots").unwrap_err().contains("whole number"));
        assert!(from_prompt("5 10s now").is_err());
    }
}
