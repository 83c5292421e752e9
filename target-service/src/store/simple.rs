//! Statements whose every value is an integer, written into the text and sent as one
//! simple query: a single round trip and no transaction, even behind PgBouncer.
//!
//! sqlx sends a statement with bound values as two round trips (Parse and Describe,
//! then Bind and Execute). Behind PgBouncer in transaction mode the two may reach two
//! server connections, so such a statement must run inside BEGIN ... COMMIT: four
//! round trips for one read. A simple query is one message that PostgreSQL runs as
//! its own transaction. Only integers are written into the text: an `i64` formatted
//! as decimal cannot carry anything but itself, so no text a client sent ever
//! reaches the SQL (those statements stay bound).

/// `sql` with each `$N` replaced by `values[N - 1]`, written in decimal.
///
/// Panics on a placeholder without a value: the statements are constants of this
/// crate, so that is a bug caught by the first test that runs it.
pub(crate) fn inline_ints(sql: &str, values: &[i64]) -> String {
    let mut out = String::with_capacity(sql.len() + 20 * values.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        let n: usize = after[..digits].parse().expect("a placeholder number");
        let value = values
            .get(n.wrapping_sub(1))
            .unwrap_or_else(|| panic!("no value for ${n} in {sql:?}"));
        out.push_str(&value.to_string());
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::inline_ints;

    #[test]
    fn placeholders_become_the_integers() {
        assert_eq!(
            inline_ints("SELECT a FROM t WHERE id = $1 AND b < $2", &[42, -7]),
            "SELECT a FROM t WHERE id = 42 AND b < -7"
        );
        // $10 is the tenth value, not the first followed by a 0.
        let values: Vec<i64> = (1..=10).collect();
        assert_eq!(inline_ints("$10,$1", &values), "10,1");
        assert_eq!(
            inline_ints("x = $2 OR x = $2", &[0, i64::MIN]),
            format!("x = {0} OR x = {0}", i64::MIN)
        );
        assert_eq!(
            inline_ints("no placeholders, $ alone", &[]),
            "no placeholders, $ alone"
        );
    }

    #[test]
    #[should_panic(expected = "no value for $2")]
    fn a_missing_value_is_a_bug() {
        inline_ints("$1 $2", &[1]);
    }
}
