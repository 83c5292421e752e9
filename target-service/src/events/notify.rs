//! Turns a loan event into a member notification (logged; SendGrid only when configured).

#[derive(Clone, Debug)]
pub struct Notifier {
    sendgrid_api_key: Option<String>,
}

impl Notifier {
    pub fn new(sendgrid_api_key: Option<String>) -> Notifier {
        Notifier { sendgrid_api_key }
    }

    pub async fn notify(&self, payload: &str) {
        let event: serde_json::Value = match serde_json::from_str(payload) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "dropping malformed event");
                return;
            }
        };
        let kind = event["type"].as_str().unwrap_or("unknown");
        let member = event["loan"]["member_id"].as_i64().unwrap_or_default();
        let loan = event["loan"]["id"].as_i64().unwrap_or_default();
        // No HTTP client ships with the service; with a key we still only log, loudly,
        // so a deployment can see which notifications a mail integration would send.
        let mode = if self.sendgrid_api_key.is_some() {
            "sendgrid (not wired)"
        } else {
            "would send"
        };
        tracing::info!(kind, member, loan, mode, "notification");
    }
}
