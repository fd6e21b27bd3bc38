//! Errors: the rich internal [`Error`], and [`ApiFailure`], what a client sees (`ErrorBody` of
//! the API contract). `From<Error> for ApiFailure` is the one place that maps one to the other;
//! internal details go to the log, never to the client, and neither holds personal data.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use eid_core::api::{ApiError, ErrorBody, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("registry: {0}")]
    Registry(String),
    #[error("issuing a credential: {0}")]
    Issue(#[from] eid_core::credential::IssueError),
    #[error("random generator unavailable")]
    Random,
}

tokio::task_local! {
    /// The id of the request being handled (set by the request middleware), for error bodies.
    pub static REQUEST_ID: String;
}

/// The current request id, or "-" outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// An error answer: code, a fixed message for people, and `Retry-After` for 429.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub code: ErrorCode,
    pub message: &'static str,
    pub retry_after: Option<u64>,
    /// The database cannot be reached (down, restarting, out of connections): 503 with
    /// `Retry-After` instead of the code's 500, so clients and balancers try again (issue 17).
    pub unavailable: bool,
}

impl ApiFailure {
    pub const fn new(code: ErrorCode, message: &'static str) -> Self {
        ApiFailure {
            code,
            message,
            retry_after: None,
            unavailable: false,
        }
    }

    pub fn invalid(message: &'static str) -> Self {
        ApiFailure::new(ErrorCode::InvalidRequest, message)
    }

    pub fn unauthenticated() -> Self {
        ApiFailure::new(
            ErrorCode::Unauthenticated,
            "the device signature is missing, stale or wrong",
        )
    }

    pub fn evidence(message: &'static str) -> Self {
        ApiFailure::new(ErrorCode::ChipEvidenceInvalid, message)
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        ApiFailure {
            code: ErrorCode::RateLimited,
            message: "too many attempts; try again later",
            retry_after: Some(retry_after.max(1)),
            unavailable: false,
        }
    }

    /// The database is out of reach for now: `internal`, 503, `Retry-After: 1`.
    pub fn unavailable() -> Self {
        ApiFailure {
            code: ErrorCode::Internal,
            message: "the service is unavailable for a moment; try again",
            retry_after: Some(1),
            unavailable: true,
        }
    }

    pub fn status(&self) -> StatusCode {
        if self.unavailable {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        status_of(self.code)
    }

    /// The JSON body, with the current request id.
    pub fn body(&self) -> Vec<u8> {
        let body = ErrorBody {
            error: ApiError {
                code: self.code,
                message: self.message.to_owned(),
                request_id: current_request_id(),
            },
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// The HTTP status of each error code (as documented in `eid_core::api::ErrorCode`).
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::WrongCode | ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::CodeExpired => StatusCode::GONE,
        ErrorCode::CodeUsed | ErrorCode::TokenUsed => StatusCode::CONFLICT,
        ErrorCode::TokenExpired => StatusCode::GONE,
        ErrorCode::NotAllowed | ErrorCode::ConsentRequired => StatusCode::FORBIDDEN,
        ErrorCode::ChipEvidenceInvalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::Revoked => StatusCode::FORBIDDEN,
        ErrorCode::AccountLocked => StatusCode::LOCKED,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The code and message of an error answer that only has a status (axum's own refusals, the
/// listener's limits): the other direction of [`status_of`].
pub fn code_of_status(status: StatusCode) -> (ErrorCode, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::InvalidRequest, "method not allowed"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::InvalidRequest, "the body is too large"),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::InvalidRequest, "the request was too slow"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::InvalidRequest, "unsupported content type")
        }
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthenticated, "not authenticated"),
        StatusCode::TOO_MANY_REQUESTS => {
            (ErrorCode::RateLimited, "too many attempts; try again later")
        }
        s if s.is_server_error() => (ErrorCode::Internal, "internal error"),
        _ => (ErrorCode::InvalidRequest, "the request is not valid"),
    }
}

/// A 400 `invalid_request` whose message is made at run time from parts that are never
/// personal data: a declaration's field path and rule, an attachment's index and media type
/// (docs/adr/0057). An answer, so an idempotent request stores it like any other.
pub fn invalid_detail(message: String) -> crate::http::Answer {
    let body = ErrorBody {
        error: ApiError {
            code: ErrorCode::InvalidRequest,
            message,
            request_id: current_request_id(),
        },
    };
    crate::http::Answer {
        status: StatusCode::BAD_REQUEST,
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

/// An error answer with `status` (for the statuses no [`ErrorCode`] maps to: 405, 408, 413).
pub fn failure_with_status(status: StatusCode) -> Response {
    let (code, message) = code_of_status(status);
    json_response(status, ApiFailure::new(code, message).body(), None)
}

impl From<Error> for ApiFailure {
    fn from(e: Error) -> Self {
        // The internal error is logged with the request id; the client gets a generic answer.
        if let Error::Db(db) = &e
            && is_unreachable(db)
        {
            tracing::warn!(request_id = %current_request_id(), error = %e, "database unavailable");
            return ApiFailure::unavailable();
        }
        tracing::error!(request_id = %current_request_id(), error = %e, "internal error");
        ApiFailure::new(ErrorCode::Internal, "internal error")
    }
}

/// Whether `e` says the database cannot be reached now (rather than that a statement failed):
/// no connection within the pool's timeout, a broken connection, or PostgreSQL's connection
/// exceptions (SQLSTATE class 08) and shutdown / starting-up refusals (57P01–57P03).
fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
        _ => false,
    }
}

impl From<sqlx::Error> for ApiFailure {
    fn from(e: sqlx::Error) -> Self {
        ApiFailure::from(Error::Db(e))
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        json_response(self.status(), self.body(), self.retry_after)
    }
}

/// A JSON response from already encoded bytes.
pub fn json_response(status: StatusCode, body: Vec<u8>, retry_after: Option<u64>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// What a suspended relying party is told when it tries to log a citizen in or check a chip.
pub const SUSPENDED_RP: &str = "the relying party is suspended by the hub";

/// An OAuth 2.0 / OpenID Connect error answer of the OIDC facade (RFC 6749 §5.2,
/// §4.1.2.1): `{"error", "error_description"}`, not our `ErrorBody`, because OIDC clients read
/// that shape. `invalid_client` is 401 with `WWW-Authenticate: Basic`; internal errors map from
/// [`Error`] here too (logged, never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthFailure {
    pub error: &'static str,
    pub description: &'static str,
    /// A failure the store caused (503 when it is unreachable, else 500).
    pub status: StatusCode,
}

impl OAuthFailure {
    pub const fn new(error: &'static str, description: &'static str) -> Self {
        OAuthFailure {
            error,
            description,
            status: StatusCode::BAD_REQUEST,
        }
    }

    pub const fn invalid_request(description: &'static str) -> Self {
        OAuthFailure::new("invalid_request", description)
    }

    pub const fn invalid_grant(description: &'static str) -> Self {
        OAuthFailure::new("invalid_grant", description)
    }

    pub const fn invalid_client() -> Self {
        OAuthFailure {
            error: "invalid_client",
            description: "client authentication failed",
            status: StatusCode::UNAUTHORIZED,
        }
    }

    /// RFC 6750 §3.1: the bearer token is unknown, expired or revoked.
    pub const fn invalid_token() -> Self {
        OAuthFailure {
            error: "invalid_token",
            description: "the access token is unknown or expired",
            status: StatusCode::UNAUTHORIZED,
        }
    }

    /// RFC 6750 §3.1: no bearer token at all (the challenge then names no error).
    pub const fn no_bearer_token() -> Self {
        OAuthFailure {
            error: "invalid_request",
            description: "a bearer access token is required",
            status: StatusCode::UNAUTHORIZED,
        }
    }

    /// The client is registered but its relying party is suspended by the hub's admin.
    pub const fn suspended() -> Self {
        OAuthFailure {
            error: "unauthorized_client",
            description: SUSPENDED_RP,
            status: StatusCode::FORBIDDEN,
        }
    }

    pub const fn not_found(description: &'static str) -> Self {
        OAuthFailure {
            error: "invalid_request",
            description,
            status: StatusCode::NOT_FOUND,
        }
    }
}

impl From<Error> for OAuthFailure {
    fn from(e: Error) -> Self {
        let api = ApiFailure::from(e);
        OAuthFailure {
            error: if api.unavailable {
                "temporarily_unavailable"
            } else {
                "server_error"
            },
            description: api.message,
            status: api.status(),
        }
    }
}

/// A refusal of the consent service (docs/adr/0058) at an OAuth endpoint: its message as an
/// `invalid_request`; overload (429) and store faults keep their status.
impl From<ApiFailure> for OAuthFailure {
    fn from(api: ApiFailure) -> Self {
        let status = api.status();
        let error = if api.unavailable {
            "temporarily_unavailable"
        } else if status.is_server_error() {
            "server_error"
        } else {
            "invalid_request"
        };
        OAuthFailure {
            error,
            description: api.message,
            status: if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
        }
    }
}

impl From<sqlx::Error> for OAuthFailure {
    fn from(e: sqlx::Error) -> Self {
        OAuthFailure::from(Error::Db(e))
    }
}

impl IntoResponse for OAuthFailure {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        }))
        .unwrap_or_default();
        let mut resp = json_response(self.status, body, None);
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            // The client's authentication at the token endpoint is Basic; a resource (UserInfo)
            // takes a bearer token (RFC 6750 §3: no error code when none was sent).
            let challenge = match self.error {
                "invalid_client" => "Basic realm=\"eid\"",
                "invalid_token" => "Bearer realm=\"eid\", error=\"invalid_token\"",
                _ => "Bearer realm=\"eid\"",
            };
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_503_with_retry_after() {
        for e in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            let resp = ApiFailure::from(e).into_response();
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        }
        // A statement that fails is not an outage.
        let resp = ApiFailure::from(sqlx::Error::RowNotFound).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!resp.headers().contains_key(header::RETRY_AFTER));
    }
}
