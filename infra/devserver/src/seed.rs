//! Demo data for `make dev`, written through the API itself so it obeys the
//! same rules as data a client creates. Running it again changes nothing.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::Deserialize;
use tower::ServiceExt;

#[derive(Debug, Deserialize)]
pub struct SeedUser {
    pub email: String,
    pub password: String,
    pub name: String,
    /// `admin` is granted directly in the table: no API lets a user make
    /// themselves an admin.
    pub role: String,
}

pub const USERS_JSON: &str = include_str!("../../seed/users.json");

pub async fn seed(services: &shared::Services) -> anyhow::Result<()> {
    let users: Vec<SeedUser> = serde_json::from_str(USERS_JSON)?;
    let app = crate::app(services);
    for user in &users {
        let body = serde_json::json!({ "email": user.email, "password": user.password, "name": user.name });
        let response = app
            .clone()
            .oneshot(
                Request::post("/v1/auth/register")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))?,
            )
            .await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let envelope: serde_json::Value = serde_json::from_slice(&bytes)?;
        match status {
            StatusCode::CREATED => {
                let id = envelope["data"]["id"].as_str().unwrap_or_default();
                if user.role == "admin" {
                    grant_admin(services, id).await?;
                }
                tracing::info!(email = %user.email, role = %user.role, "seeded user");
            }
            StatusCode::CONFLICT => tracing::info!(email = %user.email, "seed user already exists"),
            other => anyhow::bail!("seeding {} failed with {other}: {envelope}", user.email),
        }
    }
    Ok(())
}

pub async fn grant_admin(services: &shared::Services, user_id: &str) -> anyhow::Result<()> {
    let (pk, sk) = identity::user::user_key(user_id);
    services
        .store
        .client()
        .update_item()
        .table_name(services.store.table())
        .key("PK", AttributeValue::S(pk))
        .key("SK", AttributeValue::S(sk.to_owned()))
        .update_expression("SET #role = :admin")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#role", "role")
        .expression_attribute_values(":admin", AttributeValue::S("admin".into()))
        .send()
        .await?;
    Ok(())
}
