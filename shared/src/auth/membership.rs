//! Membership of a user in an organization, as stored, and the lookup every
//! permission check of a signed-in user starts with.
//!
//! Item: `ORG#<orgId> / MEMBER#<userId>` with `GSI1PK = USER#<userId>`,
//! `GSI1SK = ORG#<orgId>`: "members of an org" is a Query on the table,
//! "orgs of a user" a Query on GSI1, "is this user a member" one GetItem.

use serde::{Deserialize, Serialize};

use super::policy::{CapabilityRole, OrgKind, OrgRole, PermissionSet, member_permissions};
use crate::store::{Store, StoreError};

pub const MEMBERSHIP_TYPE: &str = "MEMBERSHIP";

pub fn org_pk(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub fn member_sk(user_id: &str) -> String {
    format!("MEMBER#{user_id}")
}

pub fn user_orgs_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const MEMBER_SK_PREFIX: &str = "MEMBER#";
pub const ORG_SK_PREFIX: &str = "ORG#";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipRecord {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    pub org_id: String,
    pub user_id: String,
    /// The member's email and name when they joined, for member lists.
    pub email: String,
    pub name: String,
    /// The organization's kind never changes, so it is kept here and a
    /// permission check needs this item only.
    pub org_kind: OrgKind,
    pub org_role: OrgRole,
    pub capabilities: Vec<CapabilityRole>,
    pub joined_at: String,
    pub updated_at: String,
    pub version: u64,
}

/// Who joins, in which organization, with which roles.
pub struct NewMembership<'a> {
    pub org_id: &'a str,
    pub org_kind: OrgKind,
    pub user_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub org_role: OrgRole,
    pub capabilities: Vec<CapabilityRole>,
}

impl MembershipRecord {
    pub fn new(new: NewMembership<'_>) -> Self {
        let now = crate::domain::now_rfc3339();
        Self {
            pk: org_pk(new.org_id),
            sk: member_sk(new.user_id),
            gsi1pk: user_orgs_pk(new.user_id),
            gsi1sk: format!("{ORG_SK_PREFIX}{}", new.org_id),
            item_type: MEMBERSHIP_TYPE.to_owned(),
            org_id: new.org_id.to_owned(),
            user_id: new.user_id.to_owned(),
            email: new.email.to_owned(),
            name: new.name.to_owned(),
            org_kind: new.org_kind,
            org_role: new.org_role,
            capabilities: new.capabilities,
            joined_at: now.clone(),
            updated_at: now,
            version: 1,
        }
    }

    pub fn permissions(&self) -> PermissionSet {
        member_permissions(self.org_kind, self.org_role, &self.capabilities)
    }
}

/// The membership of `user_id` in `org_id`, if any (one GetItem).
pub async fn find(
    store: &Store,
    org_id: &str,
    user_id: &str,
) -> Result<Option<MembershipRecord>, StoreError> {
    store.get(&org_pk(org_id), &member_sk(user_id)).await
}
