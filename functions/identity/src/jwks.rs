//! `GET /.well-known/jwks.json`: the public keys that verify access tokens.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::IdentityState;

/// The JSON Web Key Set of the access-token signing keys.
///
/// Served bare (not in the envelope), as JWKS consumers expect.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "identity",
    responses((status = 200, description = "JWKS with the Ed25519 public keys (kty OKP)", content_type = "application/json", body = Object)),
)]
pub async fn jwks(State(state): State<IdentityState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.tokens.jwks().clone()),
    )
}
