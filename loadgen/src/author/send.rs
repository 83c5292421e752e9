//! Sending a built request: the headers merged (run < scenario < user <
//! request, one value a name), the query added, the user's client asked within
//! the run's cut, the answer judged (status, checks, captures), and the
//! request recorded in HDR with its status and scenario. A request the task
//! drops before its answer is recorded as cancelled.

use super::context;
use super::reply::Reply;
use super::request::{method_label, Req};
use super::task_error::TaskError;
use crate::client::{Failure, Headers, Request};
use crate::metrics::{FailureKind, Recorder, Sample};
use std::time::Instant;

impl Req<'_> {
    /// Sends, measures, checks and records the request. A failed request is
    /// recorded and returned as an error, so `?` ends the task.
    pub async fn send(self) -> Result<Reply, TaskError> {
        let reply = self.send_any().await?;
        match &reply.failure {
            None => Ok(reply),
            Some(why) => Err(TaskError::recorded(why.clone())),
        }
    }

    /// Like `send`, but a failed request is returned as a `Reply` (still
    /// recorded). Errs only when the run is over (nothing was sent), or the
    /// request could not be built (a JSON body that does not serialize).
    pub async fn send_any(self) -> Result<Reply, TaskError> {
        let Req {
            user,
            ctx,
            persona,
            method,
            path,
            name,
            query,
            headers,
            body,
            expect,
            checks,
            check_all,
            captures,
            timeout,
            redirects,
        } = self;
        if ctx.cut.is_cancelled() {
            return Err(TaskError::stopped());
        }
        let body = body.map_err(TaskError::msg)?;
        let name = name.unwrap_or_else(|| path.clone());
        let path = with_query(path, &query);
        let state = context::state(user);
        let headers = merged(&[&ctx.headers, &persona.headers, &state.headers, &headers]);
        let request = Request {
            method: method_label(&method),
            path: &path,
            headers: &headers,
            body: &body,
            timeout: timeout.unwrap_or(ctx.timeout),
            max_redirects: redirects,
        };
        let lag_us = state.lag_us;
        let client = state.http.get_or_insert_with(|| ctx.client.user());
        let mut in_flight = InFlight {
            recorder: &ctx.recorder,
            method: method_label(&method),
            name: &name,
            scenario: &persona.name,
            started: Instant::now(),
            lag_us,
            answered: false,
        };
        let answer = tokio::select! {
            biased;
            _ = ctx.cut.cancelled() => Err(Failure::new(
                FailureKind::Cancelled,
                format!(
                    "still waiting at the end of the run's graceful stop ({})",
                    crate::units::fmt_duration(ctx.grace)
                ),
            )),
            answer = client.send(&request) => answer,
        };
        in_flight.answered = true;
        let service_us = in_flight.started.elapsed().as_micros() as u64;
        // The open model times a request from its arrival's due time too.
        let latency_us = service_us + lag_us.unwrap_or(0);
        let mut reply = Reply {
            status: 0,
            headers: Headers::default(),
            body: Vec::new(),
            url: None,
            latency_us,
            ttfb_us: None,
            connect_us: None,
            tls_us: None,
            failure: None,
        };
        let mut failure = match answer {
            Ok(r) => {
                (reply.status, reply.headers, reply.body) = (r.status, r.headers, r.body);
                (reply.url, reply.ttfb_us) = (r.url, r.ttfb_us);
                (reply.connect_us, reply.tls_us) = (r.connect_us, r.tls_us);
                None
            }
            Err(f) => Some((f.kind, f.message)),
        };
        let status = reply.status;
        let accepted = if expect.is_empty() {
            status < 400
        } else {
            expect.contains(&status)
        };
        if failure.is_none() && !accepted {
            failure = Some((
                FailureKind::Status,
                format!("HTTP {status}{}", reason(status)),
            ));
        }
        // Checks and captures read a 2xx answer: an accepted 409 or 429 has
        // no body of the kind they look for (unless asked: `check_all`).
        let checked = (200..300).contains(&status) || (check_all && status != 0);
        if (failure.is_none() && checked) || (check_all && status != 0) {
            let rejected = checks.iter().find_map(|check| check(&reply).err());
            failure = failure.or(rejected.map(|why| (FailureKind::Check, why)));
        }
        if failure.is_none() && (200..300).contains(&status) {
            let state = context::state(user);
            for (var, capture) in &captures {
                match capture.take(&reply) {
                    Ok(value) => match state.vars.iter_mut().find(|(n, _)| n == var) {
                        Some(pair) => pair.1 = value,
                        None => state.vars.push((var.clone(), value)),
                    },
                    Err(why) => {
                        failure = Some((FailureKind::Check, format!("capture '{var}': {why}")));
                        break;
                    }
                }
            }
        }
        ctx.recorder.record(Sample {
            method: method_label(&method),
            name: &name,
            latency_us,
            service_us: lag_us.map(|_| service_us),
            bytes: reply.body.len() as u64,
            failure: failure.as_ref().map(|(k, m)| (*k, m.as_str())),
            ttfb_us: reply.ttfb_us,
            status,
            scenario: Some(&persona.name),
        });
        reply.failure = failure.map(|(_, m)| format!("{} {name}: {m}", method_label(&method)));
        Ok(reply)
    }
}

/// `path` with the query parameters added, escaped.
fn with_query(path: String, query: &[(String, String)]) -> String {
    if query.is_empty() {
        return path;
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    let joiner = if path.contains('?') { '&' } else { '?' };
    format!("{path}{joiner}{encoded}")
}

/// Headers from the widest layer to the narrowest: a later layer's header
/// replaces an earlier one of the same name (any case).
fn merged(layers: &[&Vec<(String, String)>]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for layer in layers {
        for (name, value) in layer.iter() {
            context::set_pair(&mut out, name, value.clone());
        }
    }
    out
}

/// A request sent and not yet answered. Dropped unanswered (the task's future
/// was dropped: a timeout or a `select!` around `send()`), it records the
/// request as cancelled, so it is never lost from the figures.
struct InFlight<'a> {
    recorder: &'a Recorder,
    method: &'static str,
    name: &'a str,
    scenario: &'a str,
    started: Instant,
    lag_us: Option<u64>,
    answered: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let service_us = self.started.elapsed().as_micros() as u64;
        self.recorder.record(Sample {
            method: self.method,
            name: self.name,
            latency_us: service_us + self.lag_us.unwrap_or(0),
            service_us: self.lag_us.map(|_| service_us),
            bytes: 0,
            failure: Some((
                FailureKind::Cancelled,
                "dropped by the task before its answer (to limit a request's time, use .timeout())",
            )),
            ttfb_us: None,
            status: 0,
            scenario: Some(self.scenario),
        });
    }
}

/// The reason phrase after a status, as reqwest printed it (" 503 Service Unavailable").
fn reason(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(r) => format!(" {r}"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_set_twice_replaces_and_queries_are_escaped() {
        let run = vec![
            ("Accept".to_string(), "*/*".to_string()),
            ("X-Run".into(), "1".into()),
        ];
        let scenario = vec![("accept".to_string(), "application/json".to_string())];
        let request = vec![("X-RUN".to_string(), "2".to_string())];
        let h = merged(&[&run, &scenario, &vec![], &request]);
        assert_eq!(
            h,
            [
                ("Accept".to_string(), "application/json".to_string()),
                ("X-Run".into(), "2".into())
            ]
        );
        let q = [
            ("q".to_string(), "a b&c".to_string()),
            ("page".into(), "2".into()),
        ];
        assert_eq!(with_query("/books".into(), &q), "/books?q=a+b%26c&page=2");
        assert_eq!(
            with_query("/books?x=1".into(), &q[1..]),
            "/books?x=1&page=2"
        );
    }
}
