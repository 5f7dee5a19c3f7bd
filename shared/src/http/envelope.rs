//! The success envelope and the `meta` block every response carries.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::request_id;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// API Gateway's request id, else the caller's `X-Request-ID`, else a new one.
    pub request_id: String,
    /// RFC 3339 time the response was made.
    pub timestamp: String,
}

impl Meta {
    pub fn now() -> Self {
        Self {
            request_id: request_id::current().unwrap_or_default(),
            timestamp: crate::domain::now_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Opaque; pass it back as `cursor` for the next page. Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    pub limit: u32,
}

/// `{"success": true, "data": ..., "meta": {...}, "pagination": {...}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    /// Always true.
    pub success: bool,
    pub data: T,
    pub meta: Meta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
}

/// A successful response: status, envelope and optional headers.
pub struct ApiResponse<T> {
    status: StatusCode,
    data: T,
    pagination: Option<Pagination>,
    headers: axum::http::HeaderMap,
}

impl<T: Serialize> ApiResponse<T> {
    pub fn ok(data: T) -> Self {
        Self {
            status: StatusCode::OK,
            data,
            pagination: None,
            headers: Default::default(),
        }
    }

    pub fn created(data: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            ..Self::ok(data)
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn paginated(mut self, next_cursor: Option<String>, limit: u32) -> Self {
        self.pagination = Some(Pagination { next_cursor, limit });
        self
    }

    pub fn header(mut self, name: axum::http::HeaderName, value: axum::http::HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

impl<T: Serialize> IntoResponse for ApiResponse<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            success: true,
            data: self.data,
            meta: Meta::now(),
            pagination: self.pagination,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}
