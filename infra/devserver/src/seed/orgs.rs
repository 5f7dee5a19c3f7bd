//! The demo organizations: each created by its owner, found again by name
//! among the owner's organizations; the verified ones verified by the
//! platform admin (`PUT /v1/orgs/{orgId}/verification`).

use std::collections::BTreeMap;

use anyhow::Context as _;
use axum::http::Method;
use serde::Deserialize;
use serde_json::{Value, json};
use shared::auth::OrgKind;
use shared::domain::{CountryCode, Email};

use super::text;
use super::users::Accounts;
use super::{Kind, Summary};
use crate::client::Api;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedOrg {
    /// The owner's email (a demo user).
    pub owner: Email,
    pub kind: OrgKind,
    pub name: String,
    pub legal_name: String,
    pub tax_id: String,
    pub country: CountryCode,
    /// Business and tax id verified by the platform admin: a verified buyer
    /// may pay by invoice.
    pub verified: bool,
}

/// A seeded organization: its id and its owner's email.
#[derive(Debug, Clone)]
pub(super) struct Org {
    pub id: String,
    pub owner: Email,
}

/// The seeded organizations, by name.
pub(super) struct Orgs(BTreeMap<String, Org>);

impl Orgs {
    pub fn get(&self, name: &str) -> anyhow::Result<&Org> {
        self.0
            .get(name)
            .with_context(|| format!("{name} is not a demo organization (organizations.json)"))
    }

    /// The organization with this id.
    pub fn by_id(&self, id: &str) -> anyhow::Result<&Org> {
        self.0
            .values()
            .find(|org| org.id == id)
            .with_context(|| format!("{id} is not a demo organization"))
    }

    pub fn ids(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(name, org)| (name.clone(), org.id.clone()))
            .collect()
    }
}

pub(super) async fn seed_orgs(
    api: &Api,
    accounts: &Accounts,
    admin: &str,
    orgs: &[SeedOrg],
    summary: &mut Summary,
) -> anyhow::Result<Orgs> {
    let mut seeded = BTreeMap::new();
    for org in orgs {
        let owner = accounts.token(&org.owner)?;
        let view = match owned_org(api, owner, &org.name).await? {
            Some(view) => {
                summary.count(Kind::Orgs, false);
                view
            }
            None => {
                let body = json!({
                    "kind": org.kind, "name": org.name, "legalName": org.legal_name,
                    "taxId": org.tax_id, "country": org.country,
                });
                let view = api
                    .post("/v1/orgs", Some(owner), &body)
                    .await?
                    .data()
                    .with_context(|| format!("creating {}", org.name))?;
                summary.count(Kind::Orgs, true);
                view
            }
        };
        let id = text(&view, "id")?.to_owned();
        if org.verified {
            let verified = view["verification"]["businessVerified"] == true
                && view["verification"]["taxIdVerified"] == true;
            if !verified {
                let body = json!({ "businessVerified": true, "taxIdVerified": true });
                api.call(
                    Method::PUT,
                    &format!("/v1/orgs/{id}/verification"),
                    Some(admin),
                    Some(&body),
                    &[],
                )
                .await?
                .data()
                .with_context(|| format!("verifying {}", org.name))?;
            }
            summary.count(Kind::Verifications, !verified);
        }
        let owner = org.owner.clone();
        seeded.insert(org.name.clone(), Org { id, owner });
    }
    Ok(Orgs(seeded))
}

/// The organization of this name that the caller owns, if any.
async fn owned_org(api: &Api, owner: &str, name: &str) -> anyhow::Result<Option<Value>> {
    let mine = api
        .list_all("/v1/orgs?limit=100", Some(owner))
        .await
        .context("listing the owner's organizations")?;
    Ok(mine
        .into_iter()
        .find(|m| m["orgRole"] == "owner" && m["org"]["name"] == name)
        .map(|mut m| m["org"].take()))
}
