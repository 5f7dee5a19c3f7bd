//! The demo users: registered through the API, then signed in, so every
//! later step acts as a person would.

use std::collections::HashMap;

use anyhow::Context as _;
use axum::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;
use shared::auth::PlatformRole;
use shared::domain::Email;
use shared::store::{Update, s};

use super::text;
use super::{Kind, Summary};
use crate::client::Api;

#[derive(Debug, Clone, Deserialize)]
pub struct SeedUser {
    pub email: Email,
    pub password: String,
    pub name: String,
    /// `admin` is granted directly in the table: no API lets a user make
    /// themselves an admin; `moderator` is granted by the admin through
    /// the API.
    pub role: PlatformRole,
}

impl SeedUser {
    pub fn is_admin(&self) -> bool {
        self.role == PlatformRole::Admin
    }
}

/// The access tokens of the signed-in demo users, by email.
pub(super) struct Accounts(HashMap<Email, String>);

impl Accounts {
    pub fn token(&self, email: &Email) -> anyhow::Result<&str> {
        self.0
            .get(email)
            .map(String::as_str)
            .with_context(|| format!("{email} is not a demo user (infra/seed/users.json)"))
    }

    /// The platform admin's token.
    pub fn admin(&self, users: &[SeedUser]) -> anyhow::Result<&str> {
        let admin = users
            .iter()
            .find(|u| u.is_admin())
            .context("infra/seed/users.json has no admin")?;
        self.token(&admin.email)
    }
}

/// Registers each user (an existing email is a 409: already there) and
/// signs them in, all at once (password hashing is CPU work); an admin is
/// granted the role, then signed in again so the token carries it.
pub(super) async fn seed_users(
    api: &Api,
    services: &shared::FullServices,
    users: &[SeedUser],
    summary: &mut Summary,
) -> anyhow::Result<Accounts> {
    let signed_in = futures::future::try_join_all(users.iter().map(|user| async move {
        let created = register(api, user).await?;
        let mut signed_in = sign_in(api, user).await?;
        if user.is_admin() && signed_in["user"]["role"] != "admin" {
            grant_admin(services, text(&signed_in["user"], "id")?)
                .await
                .with_context(|| format!("making {} a platform admin", user.email))?;
            signed_in = sign_in(api, user).await?;
        }
        let token = text(&signed_in, "accessToken")?.to_owned();
        anyhow::Ok((user.email.clone(), token, created))
    }))
    .await?;
    let mut accounts = HashMap::new();
    for (email, token, created) in signed_in {
        summary.count(Kind::Users, created);
        accounts.insert(email, token);
    }
    let mut accounts = Accounts(accounts);
    make_moderators(api, users, &mut accounts).await?;
    Ok(accounts)
}

/// The admin makes the moderators through the API (audited as any grant),
/// then they sign in again so their tokens carry the role.
async fn make_moderators(
    api: &Api,
    users: &[SeedUser],
    accounts: &mut Accounts,
) -> anyhow::Result<()> {
    for user in users.iter().filter(|u| u.role == PlatformRole::Moderator) {
        let token = accounts.token(&user.email)?.to_owned();
        let me = api.get("/v1/me", Some(&token)).await?.data()?;
        if me["role"] == "moderator" {
            continue;
        }
        let admin = accounts.admin(users)?.to_owned();
        let path = format!("/v1/moderators/{}", text(&me, "id")?);
        api.call(Method::PUT, &path, Some(&admin), None, &[])
            .await?
            .data()
            .with_context(|| format!("making {} a moderator", user.email))?;
        let signed_in = sign_in(api, user).await?;
        let token = text(&signed_in, "accessToken")?.to_owned();
        accounts.0.insert(user.email.clone(), token);
    }
    Ok(())
}

/// Registers the user; false if the email is registered already.
async fn register(api: &Api, user: &SeedUser) -> anyhow::Result<bool> {
    let body = json!({ "email": user.email, "password": user.password, "name": user.name });
    let registered = api.post("/v1/auth/register", None, &body).await?;
    let created = registered.status == StatusCode::CREATED;
    registered
        .data_if(&[StatusCode::CREATED, StatusCode::CONFLICT])
        .with_context(|| format!("registering {}", user.email))?;
    Ok(created)
}

async fn sign_in(api: &Api, user: &SeedUser) -> anyhow::Result<serde_json::Value> {
    let body = json!({ "email": user.email, "password": user.password });
    api.post("/v1/auth/login", None, &body)
        .await?
        .data()
        .with_context(|| format!("signing in as {}", user.email))
}

pub async fn grant_admin(services: &shared::FullServices, user_id: &str) -> anyhow::Result<()> {
    let (pk, sk) = identity::user::user_key(user_id);
    let grant = Update::new(pk, sk, "SET #role = :admin")
        .condition("attribute_exists(PK)")
        .name("#role", "role")
        .value(":admin", s("admin"));
    services.store.apply_update(grant).await?;
    Ok(())
}
