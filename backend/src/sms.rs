//! Where activation codes go. Development: the `sms_outbox` table (readable at
//! `GET /v1/dev/outbox`) and the log, both development data. Production: an HTTP POST to the
//! configured SMS gateway, sent in the background after the activation committed; the code is
//! kept nowhere (the activation row holds only its hash) and never logged. Production without a
//! gateway sends nothing and says so in the log (docs/adr/0019).

use crate::activation::masked_phone;
use crate::error::Error;
use eid_core::client::UreqTransport;
use eid_core::platform::{HttpRequest, HttpTransport, Method};
use std::sync::Arc;
use std::time::Duration;

/// How long a gateway may take to accept a message.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SMS gateway of a production deployment. It receives `POST <url>` with
/// `{"to": "+84912345678", "text": "..."}` (`content-type: application/json`,
/// `authorization: Bearer <token>` when a token is set) and answers 2xx once it took the message.
#[derive(Clone)]
pub struct Gateway {
    pub url: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The sender of a backend.
#[derive(Debug, Clone)]
pub enum SmsSender {
    /// Development: the outbox table and the log.
    Outbox,
    /// Production: the gateway.
    Gateway(Arc<(Gateway, UreqTransport)>),
    /// Production without a gateway: nothing is sent.
    Unconfigured,
}

fn text(code: &str) -> String {
    format!("Ma kich hoat VNeID: {code}. Khong chia se ma nay voi ai.")
}

/// The gateway's form of a registry phone (`0…`): E.164, `+84…`.
fn e164(phone: &str) -> String {
    match phone.strip_prefix('0') {
        Some(national) => format!("+84{national}"),
        None => phone.to_owned(),
    }
}

impl SmsSender {
    pub fn new(dev_mode: bool, gateway: Option<&Gateway>) -> SmsSender {
        match (dev_mode, gateway) {
            (true, _) => SmsSender::Outbox,
            (false, Some(g)) => SmsSender::Gateway(Arc::new((g.clone(), UreqTransport::new()))),
            (false, None) => {
                tracing::warn!("no SMS gateway configured: activation codes will not be sent");
                SmsSender::Unconfigured
            }
        }
    }

    /// Inside the activation's transaction: the development outbox row; nothing in production.
    pub async fn record(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        phone: &str,
        code: &str,
        now: i64,
    ) -> Result<(), Error> {
        if let SmsSender::Outbox = self {
            sqlx::query("INSERT INTO sms_outbox (phone, body, created_at) VALUES ($1, $2, $3)")
                .bind(phone)
                .bind(text(code))
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// After the commit: the message leaves. The gateway is called in the background, so the
    /// answer to the start takes as long whether or not a message goes out.
    pub fn deliver(&self, phone: &str, code: &str) {
        let to = masked_phone(phone);
        match self {
            SmsSender::Outbox => {
                // Development only: the outbox is read from this line (no real SMS gateway).
                tracing::info!(to = %to, code = %code, "sms to {to}: code {code}");
            }
            SmsSender::Unconfigured => {
                tracing::warn!(to = %to, "sms to {to} not sent: no SMS gateway configured");
            }
            SmsSender::Gateway(gateway) => {
                let gateway = gateway.clone();
                let body = serde_json::json!({ "to": e164(phone), "text": text(code) });
                tokio::task::spawn_blocking(move || post(&gateway.0, &gateway.1, &body, &to));
            }
        }
    }
}

fn post(gateway: &Gateway, transport: &UreqTransport, body: &serde_json::Value, to: &str) {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(token) = &gateway.token {
        headers.push(("authorization".to_owned(), format!("Bearer {token}")));
    }
    let request = HttpRequest {
        method: Method::Post,
        url: gateway.url.clone(),
        headers,
        body: serde_json::to_vec(body).ok(),
        timeout: GATEWAY_TIMEOUT,
    };
    // Logged: the masked phone and the outcome, never the request (it holds the code).
    match transport.exchange(request) {
        Ok(r) if (200..300).contains(&r.status) => {
            tracing::info!(to = %to, "sms to {to}: code sent");
        }
        Ok(r) => tracing::warn!(to = %to, status = r.status, "sms to {to}: gateway refused"),
        Err(e) => tracing::warn!(to = %to, error = %e, "sms to {to}: gateway unreachable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_numbers_and_debug() {
        assert_eq!(e164("0912345678"), "+84912345678");
        let g = Gateway {
            url: "https://sms.example/send".into(),
            token: Some("s3cret".into()),
        };
        assert!(!format!("{g:?}").contains("s3cret"));
    }
}
