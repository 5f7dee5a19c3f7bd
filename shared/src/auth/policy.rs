//! The one permission policy every context asks.
//!
//! A caller's permissions in an organization are the union of
//! - what their platform role grants everywhere (admins read and verify orgs),
//! - what their org role grants (owner, admin, member),
//! - what each of their capability roles grants (buyer, seller, editor,
//!   approver, viewer),
//!
//! masked by the organization's kind: a buyer org never gets seller-side
//! permissions (`product:write`, `order:fulfil`, `proposal:submit`) and a
//! seller org never gets buyer-side ones (`order:create`, `rfq:create`).
//! An API key holds a fixed subset of its creator's permissions.
//!
//! The grants are the `const` tables below; docs/permissions.md shows them
//! as a matrix, and a test keeps the two in step.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PlatformRole;

macro_rules! permissions {
    ($($variant:ident = $name:tt: $doc:literal,)*) => {
        /// What a caller may do in an organization, named `resource:action`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum Permission {
            $(#[doc = $doc] #[serde(rename = $name)] $variant,)*
        }

        impl Permission {
            /// Every permission, in declaration order (also the bit order of
            /// [`PermissionSet`]).
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($name => Some(Permission::$variant),)* _ => None }
            }

            pub fn description(self) -> &'static str {
                match self { $(Permission::$variant => $doc,)* }
            }
        }
    };
}

permissions! {
    OrgRead = "org:read": "See the organization's profile",
    OrgManage = "org:manage": "Change the organization's profile",
    OrgVerify = "org:verify": "Set the organization's verification flags (platform admins only)",
    MemberRead = "member:read": "List members",
    MemberManage = "member:manage": "Invite members, change their roles, remove them",
    ApikeyManage = "apikey:manage": "Create, list and revoke API keys",
    AuditRead = "audit:read": "Read the organization's audit trail",
    ProductRead = "product:read": "See the organization's products, including drafts",
    ProductWrite = "product:write": "Create and change products, stock and prices",
    OrderCreate = "order:create": "Place orders",
    OrderRead = "order:read": "See the organization's orders",
    OrderFulfil = "order:fulfil": "Fulfil and ship the organization's part of orders",
    TemplateRead = "template:read": "See email templates",
    TemplateWrite = "template:write": "Edit email templates",
    TemplateApprove = "template:approve": "Approve or reject template versions",
    TemplateSend = "template:send": "Send approved templates",
    RfqCreate = "rfq:create": "Create requests for quotation",
    RfqRead = "rfq:read": "See requests for quotation",
    ProposalSubmit = "proposal:submit": "Submit proposals to requests for quotation",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions as a bit set: cheap to copy, union and compare.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermissionSet(u64);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    const fn bit(permission: Permission) -> u64 {
        1 << permission as u64
    }

    pub const fn of(permissions: &[Permission]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < permissions.len() {
            bits |= Self::bit(permissions[i]);
            i += 1;
        }
        PermissionSet(bits)
    }

    pub const fn all() -> Self {
        Self::of(Permission::ALL)
    }

    pub const fn union(self, other: Self) -> Self {
        PermissionSet(self.0 | other.0)
    }

    pub const fn intersection(self, other: Self) -> Self {
        PermissionSet(self.0 & other.0)
    }

    pub const fn without(self, other: Self) -> Self {
        PermissionSet(self.0 & !other.0)
    }

    pub const fn contains(self, permission: Permission) -> bool {
        self.0 & Self::bit(permission) != 0
    }

    pub const fn is_subset_of(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    pub fn to_vec(self) -> Vec<Permission> {
        self.iter().collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        iter.into_iter()
            .fold(Self::EMPTY, |set, p| set.union(Self::of(&[p])))
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Permission::as_str))
            .finish()
    }
}

/// What an organization does on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Buyer,
    Seller,
    Both,
}

/// A member's standing in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Admin,
    Member,
}

/// What a member works on, independent of their standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CapabilityRole {
    Buyer,
    Seller,
    Editor,
    Approver,
    Viewer,
}

macro_rules! named {
    ($ty:ty { $($variant:ident = $name:literal),* }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $name),* }
            }
            pub fn parse(raw: &str) -> Option<Self> {
                match raw { $($name => Some(<$ty>::$variant),)* _ => None }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named!(OrgKind { Buyer = "buyer", Seller = "seller", Both = "both" });
named!(OrgRole { Owner = "owner", Admin = "admin", Member = "member" });
named!(CapabilityRole { Buyer = "buyer", Seller = "seller", Editor = "editor", Approver = "approver", Viewer = "viewer" });

use Permission::*;

const READS: &[Permission] = &[
    OrgRead,
    MemberRead,
    ProductRead,
    OrderRead,
    TemplateRead,
    RfqRead,
];
const BUYER_SIDE: PermissionSet = PermissionSet::of(&[OrderCreate, RfqCreate]);
const SELLER_SIDE: PermissionSet = PermissionSet::of(&[ProductWrite, OrderFulfil, ProposalSubmit]);
/// Granted by the platform, never by an organization.
const PLATFORM_ONLY: PermissionSet = PermissionSet::of(&[OrgVerify]);

/// Org role → permissions. Owners hold everything an org can grant; the
/// owner-only rules (granting or removing `owner`) live with the members code.
pub const ORG_ROLE_GRANTS: &[(OrgRole, PermissionSet)] = &[
    (OrgRole::Owner, PermissionSet::all().without(PLATFORM_ONLY)),
    (
        OrgRole::Admin,
        PermissionSet::of(READS).union(PermissionSet::of(&[
            OrgManage,
            MemberManage,
            ApikeyManage,
            AuditRead,
        ])),
    ),
    (OrgRole::Member, PermissionSet::of(&[OrgRead, MemberRead])),
];

/// Capability role → permissions.
pub const CAPABILITY_GRANTS: &[(CapabilityRole, PermissionSet)] = &[
    (
        CapabilityRole::Buyer,
        PermissionSet::of(&[ProductRead, OrderCreate, OrderRead, RfqCreate, RfqRead]),
    ),
    (
        CapabilityRole::Seller,
        PermissionSet::of(&[
            ProductRead,
            ProductWrite,
            OrderRead,
            OrderFulfil,
            RfqRead,
            ProposalSubmit,
        ]),
    ),
    (
        CapabilityRole::Editor,
        PermissionSet::of(&[TemplateRead, TemplateWrite]),
    ),
    (
        CapabilityRole::Approver,
        PermissionSet::of(&[TemplateRead, TemplateApprove, TemplateSend]),
    ),
    (CapabilityRole::Viewer, PermissionSet::of(READS)),
];

/// Platform role → permissions in every organization, member or not.
pub const PLATFORM_GRANTS: &[(PlatformRole, PermissionSet)] = &[
    (PlatformRole::Customer, PermissionSet::EMPTY),
    (
        PlatformRole::Admin,
        PermissionSet::of(&[OrgRead, OrgVerify, MemberRead, AuditRead]),
    ),
    // Moderation is about public content, not organizations: no standing
    // in any org (see `crate::moderation`).
    (PlatformRole::Moderator, PermissionSet::EMPTY),
];

fn grant<K: PartialEq + Copy>(table: &[(K, PermissionSet)], key: K) -> PermissionSet {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, set)| *set)
        .unwrap_or_default()
}

impl OrgKind {
    /// Permissions an organization of this kind can hold at all.
    pub const fn allowed(self) -> PermissionSet {
        match self {
            OrgKind::Buyer => PermissionSet::all().without(SELLER_SIDE),
            OrgKind::Seller => PermissionSet::all().without(BUYER_SIDE),
            OrgKind::Both => PermissionSet::all(),
        }
    }

    /// Whether members of such an organization may hold `capability`.
    pub fn admits(self, capability: CapabilityRole) -> bool {
        !matches!(
            (self, capability),
            (OrgKind::Buyer, CapabilityRole::Seller) | (OrgKind::Seller, CapabilityRole::Buyer)
        )
    }
}

/// What the platform role grants in any organization.
pub fn platform_permissions(role: PlatformRole) -> PermissionSet {
    grant(PLATFORM_GRANTS, role)
}

/// What membership grants: org role and capability roles, masked by the
/// organization's kind.
pub fn member_permissions(
    kind: OrgKind,
    role: OrgRole,
    capabilities: &[CapabilityRole],
) -> PermissionSet {
    capabilities
        .iter()
        .fold(grant(ORG_ROLE_GRANTS, role), |set, c| {
            set.union(grant(CAPABILITY_GRANTS, *c))
        })
        .intersection(kind.allowed())
        .without(PLATFORM_ONLY)
}

/// A user's permissions in an organization: platform grants, plus the
/// membership's if they are a member.
pub fn user_permissions(
    platform: PlatformRole,
    membership: Option<(OrgKind, OrgRole, &[CapabilityRole])>,
) -> PermissionSet {
    let member = membership
        .map(|(kind, role, caps)| member_permissions(kind, role, caps))
        .unwrap_or_default();
    platform_permissions(platform).union(member)
}

/// docs/permissions.md's matrix, generated from the tables above.
pub fn permissions_markdown() -> String {
    let mut columns: Vec<(String, PermissionSet)> = Vec::new();
    for (role, _) in PLATFORM_GRANTS {
        columns.push((
            format!("platform {}", role.as_str()),
            platform_permissions(*role),
        ));
    }
    for (role, set) in ORG_ROLE_GRANTS {
        columns.push((format!("org {role}"), *set));
    }
    for (capability, set) in CAPABILITY_GRANTS {
        columns.push((capability.to_string(), *set));
    }
    let mut out = String::from("| permission | ");
    out.push_str(
        &columns
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out.push_str(" | meaning |\n|---|");
    out.push_str(&"---|".repeat(columns.len() + 1));
    out.push('\n');
    for permission in Permission::ALL {
        out.push_str(&format!("| `{permission}` | "));
        for (_, set) in &columns {
            out.push_str(if set.contains(*permission) {
                "✓ | "
            } else {
                " | "
            });
        }
        out.push_str(permission.description());
        out.push_str(" |\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_serialize_as_resource_colon_action() {
        assert_eq!(
            serde_json::to_string(&ProductWrite).unwrap(),
            "\"product:write\""
        );
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
            let json = serde_json::to_string(p).unwrap();
            assert_eq!(serde_json::from_str::<Permission>(&json).unwrap(), *p);
        }
        assert_eq!(Permission::parse("product:delete"), None);
        assert!(Permission::ALL.len() < 64, "PermissionSet is a u64");
    }

    #[test]
    fn owners_hold_every_org_permission_but_never_verification() {
        let owner = member_permissions(OrgKind::Both, OrgRole::Owner, &[]);
        assert!(owner.contains(MemberManage) && owner.contains(ProductWrite));
        assert!(owner.contains(OrderCreate) && owner.contains(AuditRead));
        assert!(!owner.contains(OrgVerify));
    }

    #[test]
    fn admins_administer_and_read_but_do_not_trade() {
        let admin = member_permissions(OrgKind::Both, OrgRole::Admin, &[]);
        for p in [OrgManage, MemberManage, ApikeyManage, AuditRead, OrderRead] {
            assert!(admin.contains(p), "{p}");
        }
        for p in [ProductWrite, OrderCreate, TemplateApprove, OrgVerify] {
            assert!(!admin.contains(p), "{p}");
        }
    }

    #[test]
    fn plain_members_only_see_the_org_until_given_capabilities() {
        let member = member_permissions(OrgKind::Both, OrgRole::Member, &[]);
        assert_eq!(member.to_vec(), vec![OrgRead, MemberRead]);
        let approver =
            member_permissions(OrgKind::Both, OrgRole::Member, &[CapabilityRole::Approver]);
        assert!(approver.contains(TemplateApprove) && approver.contains(TemplateSend));
        assert!(!approver.contains(TemplateWrite));
        let editor = member_permissions(OrgKind::Both, OrgRole::Member, &[CapabilityRole::Editor]);
        assert!(editor.contains(TemplateWrite) && !editor.contains(TemplateApprove));
        let viewer = member_permissions(OrgKind::Both, OrgRole::Member, &[CapabilityRole::Viewer]);
        assert!(viewer.iter().all(|p| p.as_str().ends_with(":read")));
        assert!(!viewer.contains(AuditRead));
    }

    #[test]
    fn the_org_kind_masks_the_other_side_of_the_market() {
        let buyer_org_owner = member_permissions(OrgKind::Buyer, OrgRole::Owner, &[]);
        assert!(buyer_org_owner.contains(OrderCreate) && buyer_org_owner.contains(RfqCreate));
        assert!(
            !buyer_org_owner.contains(ProductWrite) && !buyer_org_owner.contains(ProposalSubmit)
        );
        let seller_org_buyer =
            member_permissions(OrgKind::Seller, OrgRole::Member, &[CapabilityRole::Buyer]);
        assert!(!seller_org_buyer.contains(OrderCreate));
        assert!(!OrgKind::Buyer.admits(CapabilityRole::Seller));
        assert!(!OrgKind::Seller.admits(CapabilityRole::Buyer));
        assert!(OrgKind::Both.admits(CapabilityRole::Seller));
    }

    #[test]
    fn platform_roles_grant_only_oversight() {
        assert!(platform_permissions(PlatformRole::Customer).is_empty());
        assert!(platform_permissions(PlatformRole::Moderator).is_empty());
        let admin = user_permissions(PlatformRole::Admin, None);
        assert!(admin.contains(OrgVerify) && admin.contains(OrgRead));
        assert!(!admin.contains(OrgManage) && !admin.contains(MemberManage));
        let customer = user_permissions(
            PlatformRole::Customer,
            Some((OrgKind::Seller, OrgRole::Member, &[CapabilityRole::Seller])),
        );
        assert!(customer.contains(ProductWrite) && !customer.contains(OrgVerify));
    }

    #[test]
    fn sets_compare_and_combine() {
        let a = PermissionSet::of(&[OrgRead, ProductRead]);
        let b = PermissionSet::of(&[OrgRead]);
        assert!(b.is_subset_of(a) && !a.is_subset_of(b));
        assert_eq!(a.intersection(b), b);
        assert_eq!(
            [OrgRead, ProductRead]
                .into_iter()
                .collect::<PermissionSet>(),
            a
        );
        assert_eq!(format!("{b:?}"), "{\"org:read\"}");
    }

    #[test]
    fn docs_permissions_md_shows_the_current_table() {
        let doc = include_str!("../../../docs/permissions.md");
        assert!(
            doc.contains(&permissions_markdown()),
            "docs/permissions.md is stale: regenerate the table with \
             `cargo test -p shared print_permissions_table -- --ignored --nocapture`"
        );
    }

    #[test]
    #[ignore = "prints the table for docs/permissions.md"]
    fn print_permissions_table() {
        println!("{}", permissions_markdown());
    }
}
