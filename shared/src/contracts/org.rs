//! Identity's organization as sourcing reads `ORG#<id> / PROFILE`: its kind,
//! whether a platform admin verified it, and its supply profile (where it
//! delivers, how many days it needs), which matching runs on.
//!
//! Owned by identity, whose `OrgRecord` stores these attributes under these
//! names and embeds [`SupplyProfile`] as it is; identity's round-trip test
//! reads its full item as [`OrgForSourcing`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::OrgKind;
use crate::domain::CountryCode;

/// The key of an organization's profile item.
pub fn org_profile_key(org_id: &str) -> (String, &'static str) {
    (crate::auth::membership::org_pk(org_id), "PROFILE")
}

/// What a supplying organization declares about its deliveries; set with
/// `PATCH /v1/orgs/{orgId}` (`supply`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplyProfile {
    /// The countries it delivers to.
    pub delivery_countries: Vec<CountryCode>,
    /// Days from order to delivery, usually.
    #[schema(example = 7)]
    pub lead_time_days: u32,
    /// Share of past deliveries on time, 0 to 100, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 96)]
    pub on_time_percent: Option<u32>,
}

/// An organization's sign-in policy as every permission check reads it
/// (`shared::auth::caller`): whether its owners and admins must have
/// signed in with a second factor. Set by an owner with
/// `PATCH /v1/orgs/{orgId}` (`requireMfa`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgSignInPolicy {
    #[serde(default)]
    pub require_mfa: bool,
}

/// The attribute [`OrgSignInPolicy`] reads.
pub const REQUIRE_MFA_ATTRIBUTE: &str = "requireMfa";

/// The verification flags as sourcing reads them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationFlags {
    pub business_verified: bool,
}

/// An organization as matching and publishing read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgForSourcing {
    pub id: String,
    pub kind: OrgKind,
    pub name: String,
    pub verification: VerificationFlags,
    #[serde(default)]
    pub supply: Option<SupplyProfile>,
}

impl OrgForSourcing {
    pub fn is_verified(&self) -> bool {
        self.verification.business_verified
    }

    pub fn sells(&self) -> bool {
        matches!(self.kind, OrgKind::Seller | OrgKind::Both)
    }
}
