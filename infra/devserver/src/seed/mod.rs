//! A demo store for `make dev`, written through the API itself (the
//! devserver's router, in-process) so every seeded item obeys the same rules
//! as one a client creates. The data is in `infra/seed/*.json`.
//!
//! Only what no API does goes around it: granting the platform admin role,
//! running the upload's ingest step at once instead of waiting for the S3
//! pump, and putting the products in the search index at once instead of
//! waiting for the stream pump (both steps call the handlers those pumps call).
//!
//! Running it again changes nothing: each step first finds what exists
//! (a user by email, a category by slug, an org by name among its owner's,
//! a product by SKU in its seller's listing, a review by its 409, an order by
//! its note in the buyer's orders, placed with a fixed Idempotency-Key).

mod catalog;
mod images;
mod orders;
mod orgs;
mod users;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::auth::OrgKind;
use shared::domain::{Email, Sku};

pub use catalog::{SeedCategory, SeedProduct, SeedReview};
pub use orders::SeedOrder;
pub use orgs::SeedOrg;
pub use users::{SeedUser, grant_admin};

/// The demo data, as checked in under `infra/seed/`.
#[derive(Debug, Clone)]
pub struct SeedData {
    pub users: Vec<SeedUser>,
    pub categories: Vec<SeedCategory>,
    pub organizations: Vec<SeedOrg>,
    pub products: Vec<SeedProduct>,
    pub reviews: Vec<SeedReview>,
    pub orders: Vec<SeedOrder>,
}

/// A JSON string field, or an error naming it.
fn text<'a>(value: &'a Value, field: &str) -> anyhow::Result<&'a str> {
    value[field]
        .as_str()
        .with_context(|| format!("no {field} in {value}"))
}

fn parse<T: DeserializeOwned>(file: &str, json: &str) -> anyhow::Result<T> {
    serde_json::from_str(json).with_context(|| format!("reading infra/seed/{file}"))
}

impl SeedData {
    /// The files under `infra/seed/`, built into the binary.
    pub fn bundled() -> anyhow::Result<Self> {
        Ok(Self {
            users: parse("users.json", include_str!("../../../seed/users.json"))?,
            categories: parse(
                "categories.json",
                include_str!("../../../seed/categories.json"),
            )?,
            organizations: parse(
                "organizations.json",
                include_str!("../../../seed/organizations.json"),
            )?,
            products: parse("products.json", include_str!("../../../seed/products.json"))?,
            reviews: parse("reviews.json", include_str!("../../../seed/reviews.json"))?,
            orders: parse("orders.json", include_str!("../../../seed/orders.json"))?,
        })
    }

    /// What each demo user is, for the sign-in list.
    fn role_of(&self, user: &SeedUser) -> String {
        if user.is_admin() {
            return "platform admin".to_owned();
        }
        let owned: Vec<String> = self
            .organizations
            .iter()
            .filter(|org| org.owner == user.email)
            .map(|org| {
                let verified = if org.verified {
                    ", verified"
                } else {
                    ", not verified"
                };
                let invoice = if org.verified && org.kind == OrgKind::Buyer {
                    ": pays by invoice"
                } else {
                    ""
                };
                format!("owner of {} ({}{verified}{invoice})", org.name, org.kind)
            })
            .collect();
        if owned.is_empty() {
            "shopper (no organization)".to_owned()
        } else {
            owned.join("; ")
        }
    }
}

/// What the seed counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Users,
    Categories,
    Orgs,
    Verifications,
    Images,
    Products,
    Reviews,
    Orders,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Categories => "categories",
            Kind::Orgs => "organizations",
            Kind::Verifications => "verified orgs",
            Kind::Images => "product images",
            Kind::Products => "products",
            Kind::Reviews => "reviews",
            Kind::Orders => "orders",
        }
    }
}

/// How many of a kind the seed created, and how many it found already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub created: usize,
    pub existing: usize,
}

/// What a seed run did, the ids of what it seeded, and who can sign in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub counts: BTreeMap<Kind, Count>,
    /// Category ids by slug.
    pub categories: BTreeMap<String, String>,
    /// Organization ids by name.
    pub orgs: BTreeMap<String, String>,
    /// Product ids by SKU.
    pub products: BTreeMap<Sku, String>,
    /// Order ids by Idempotency-Key.
    pub orders: BTreeMap<String, String>,
    /// The demo accounts to sign in with.
    pub accounts: Vec<DemoAccount>,
}

/// A demo account: how to sign in, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccount {
    pub email: Email,
    pub password: String,
    /// "platform admin", "owner of Ada Greens (seller, verified)", ...
    pub role: String,
}

impl Summary {
    fn count(&mut self, kind: Kind, created: bool) {
        let count = self.counts.entry(kind).or_default();
        if created {
            count.created += 1;
        } else {
            count.existing += 1;
        }
    }

    /// How many items the run created, of every kind.
    pub fn created(&self) -> usize {
        self.counts.values().map(|c| c.created).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Demo store (infra/seed/): seeded now / already there")?;
        for (kind, count) in &self.counts {
            writeln!(
                f,
                "  {:<16} {:>3} / {}",
                kind.label(),
                count.created,
                count.existing
            )?;
        }
        writeln!(f, "Sign in with (POST /v1/auth/login):")?;
        let width = self
            .accounts
            .iter()
            .map(|a| a.email.as_str().len() + a.password.len())
            .max()
            .unwrap_or(0);
        for account in &self.accounts {
            let (email, password) = (account.email.as_str(), &account.password);
            let pad = width - email.len() - password.len();
            writeln!(f, "  {email} / {password}{:pad$}   {}", "", account.role)?;
        }
        Ok(())
    }
}

/// Seeds the demo store of `infra/seed/` into the services' table.
pub async fn seed(services: &shared::FullServices) -> anyhow::Result<Summary> {
    seed_with(services, &SeedData::bundled()?).await
}

/// Seeds `data`; a second run with the same data changes nothing.
pub async fn seed_with(
    services: &shared::FullServices,
    data: &SeedData,
) -> anyhow::Result<Summary> {
    let api = crate::client::Api::new(services);
    let mut summary = Summary::default();
    let accounts = users::seed_users(&api, services, &data.users, &mut summary)
        .await
        .context("registering and signing in the demo users")?;
    let admin = accounts.admin(&data.users)?;
    let categories = catalog::seed_categories(&api, admin, &data.categories, &mut summary)
        .await
        .context("seeding the category tree")?;
    let orgs = orgs::seed_orgs(&api, &accounts, admin, &data.organizations, &mut summary)
        .await
        .context("seeding the organizations")?;
    let products = catalog::seed_products(
        &api,
        services,
        &accounts,
        &orgs,
        &categories,
        &data.products,
        &mut summary,
    )
    .await
    .context("seeding the products")?;
    catalog::seed_reviews(&api, &accounts, &products, &data.reviews, &mut summary)
        .await
        .context("seeding the reviews")?;
    catalog::index_for_search(services, &products)
        .await
        .context("indexing the products for search")?;
    let orders = orders::seed_orders(
        &api,
        &accounts,
        admin,
        &orgs,
        &products,
        &data.orders,
        &mut summary,
    )
    .await
    .context("seeding the orders")?;
    summary.categories = categories;
    summary.orgs = orgs.ids();
    summary.products = products;
    summary.orders = orders;
    summary.accounts = data
        .users
        .iter()
        .map(|u| DemoAccount {
            email: u.email.clone(),
            password: u.password.clone(),
            role: data.role_of(u),
        })
        .collect();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    /// Every name one seed file uses is defined in another, so an edit that
    /// breaks a reference fails here rather than half-way through `make dev`.
    #[test]
    fn the_seed_files_read_and_refer_to_each_other() {
        let data = SeedData::bundled().unwrap();
        let users: HashSet<&Email> = data.users.iter().map(|u| &u.email).collect();
        let orgs: HashSet<&str> = data.organizations.iter().map(|o| o.name.as_str()).collect();
        let categories: HashSet<&str> = data
            .categories
            .iter()
            .flat_map(|root| std::iter::once(root).chain(&root.children))
            .map(|c| c.slug.as_str())
            .collect();
        let skus: HashSet<&Sku> = data.products.iter().map(|p| &p.sku).collect();
        assert_eq!(skus.len(), data.products.len(), "SKUs are unique");
        assert_eq!(data.users.iter().filter(|u| u.is_admin()).count(), 1);
        assert!(data.organizations.iter().all(|o| users.contains(&o.owner)));
        for product in &data.products {
            assert!(orgs.contains(product.seller.as_str()), "{}", product.seller);
            assert!(categories.contains(product.category.as_str()));
            assert!(product.product.is_object() && product.product.get("sku").is_none());
        }
        for review in &data.reviews {
            assert!(skus.contains(&review.sku) && users.contains(&review.author));
        }
        for order in &data.orders {
            assert!(users.contains(&order.buyer) && orgs.contains(order.buyer_org.as_str()));
            assert!(order.lines.iter().all(|l| skus.contains(&l.sku)));
        }
    }

    #[test]
    fn the_summary_lists_counts_and_accounts() {
        let mut summary = Summary::default();
        summary.count(Kind::Products, true);
        summary.count(Kind::Products, false);
        summary.count(Kind::Orders, false);
        summary.accounts.push(DemoAccount {
            email: Email::parse("ada@example.com").unwrap(),
            password: "correct horse battery staple".into(),
            role: "owner of Ada Greens (seller, verified)".into(),
        });
        let shown = summary.to_string();
        assert!(shown.contains("products           1 / 1"), "{shown}");
        assert!(shown.contains("orders             0 / 1"), "{shown}");
        assert!(shown.contains("ada@example.com / correct horse battery staple"));
        assert_eq!(summary.created(), 1);
    }
}
