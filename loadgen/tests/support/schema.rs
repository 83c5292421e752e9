//! A JSON Schema validator for the subset `docs/summary.schema.json` uses:
//! type (one or a list), required, properties, items, enum, anyOf and local $ref.

use serde_json::Value;

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        other => panic!("the schema uses type '{other}', which this validator does not know"),
    }
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let path = reference
        .strip_prefix("#/")
        .unwrap_or_else(|| panic!("only local $refs are supported: {reference}"));
    path.split('/').fold(root, |node, key| &node[key])
}

/// Every way `doc` breaks `schema`, as "path: problem" lines (empty when valid).
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, doc, "$", &mut errors);
    errors
}

fn check(root: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    const KNOWN: [&str; 13] = [
        "type",
        "required",
        "properties",
        "items",
        "enum",
        "anyOf",
        "$ref",
        "description",
        "title",
        "$schema",
        "$id",
        "$defs",
        "additionalProperties",
    ];
    if let Some(obj) = s.as_object() {
        for key in obj.keys() {
            assert!(
                KNOWN.contains(&key.as_str()),
                "unsupported keyword {key} at {at}"
            );
        }
    }
    if let Some(r) = s["$ref"].as_str() {
        check(root, resolve(root, r), v, at, errors);
    }
    match &s["type"] {
        Value::String(t) if !type_ok(t, v) => errors.push(format!("{at}: expected {t}, got {v}")),
        Value::Array(ts) if !ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)) => {
            errors.push(format!("{at}: expected one of {ts:?}, got {v}"))
        }
        _ => {}
    }
    if let Some(options) = s["enum"].as_array() {
        if !options.contains(v) {
            errors.push(format!("{at}: {v} is not one of {options:?}"));
        }
    }
    if let Some(options) = s["anyOf"].as_array() {
        if !options.iter().any(|o| validate_at(root, o, v)) {
            errors.push(format!("{at}: matches none of anyOf"));
        }
    }
    if let Some(obj) = v.as_object() {
        for key in s["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            if !obj.contains_key(key) {
                errors.push(format!("{at}: missing required '{key}'"));
            }
        }
        if let Some(props) = s["properties"].as_object() {
            for (key, sub) in props {
                if let Some(value) = obj.get(key) {
                    check(root, sub, value, &format!("{at}.{key}"), errors);
                }
            }
        }
    }
    if let (Some(items), Some(array)) = (s.get("items"), v.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(root, items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

fn validate_at(root: &Value, s: &Value, v: &Value) -> bool {
    let mut errors = Vec::new();
    check(root, s, v, "", &mut errors);
    errors.is_empty()
}

/// The committed schema.
pub fn summary_schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/summary.schema.json");
    let text = std::fs::read_to_string(path).expect("docs/summary.schema.json exists");
    serde_json::from_str(&text).expect("the schema is JSON")
}

pub fn assert_valid_summary(doc: &Value) {
    let errors = validate(&summary_schema(), doc);
    assert!(
        errors.is_empty(),
        "summary.json breaks the schema:\n{}",
        errors.join("\n")
    );
}
