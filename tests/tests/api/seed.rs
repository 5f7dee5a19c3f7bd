//! The demo store `make dev` seeds (`devserver::seed`): browsable through the
//! API like a store a client built, and seeded once however often the seed
//! runs.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use bodega_tests::{TestApp, http_request, spawn_app};
use devserver::seed::{Kind, SeedData, Summary};
use serde_json::Value;
use shared::auth::OrgKind;
use shared::domain::{Email, Sku};

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).expect("a valid SKU")
}

fn password_of(data: &SeedData, email: &Email) -> String {
    data.users
        .iter()
        .find(|u| &u.email == email)
        .unwrap_or_else(|| panic!("{email} is a demo user"))
        .password
        .clone()
}

async fn sign_in(app: &TestApp, data: &SeedData, email: &Email) -> String {
    let session = app.login(email.as_str(), &password_of(data, email)).await;
    session.assert_ok(StatusCode::OK)["accessToken"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

/// The owner's email of the first organization of `kind` with `verified`.
fn owner_of(data: &SeedData, kind: OrgKind, verified: bool) -> (Email, String) {
    let org = data
        .organizations
        .iter()
        .find(|o| o.kind == kind && o.verified == verified)
        .unwrap_or_else(|| panic!("the demo data has a {kind} org (verified: {verified})"));
    (org.owner.clone(), org.name.clone())
}

fn skus(products: &Value) -> BTreeSet<String> {
    products
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_owned())
        .collect()
}

/// What a client sees of the demo store: the category tree, every product as
/// served (with its version), each product's reviews and the buyer org's
/// orders. Equal snapshots mean nothing changed.
async fn snapshot(app: &TestApp, summary: &Summary, buyer: &str, buyer_org: &str) -> Value {
    let mut products = Vec::new();
    let mut reviews = Vec::new();
    for id in summary.products.values() {
        products.push(app.get_product(id).await.assert_ok(StatusCode::OK).clone());
        reviews.push(
            app.list_reviews(id, "limit=100")
                .await
                .assert_ok(StatusCode::OK)
                .clone(),
        );
    }
    let orders = app
        .orders(buyer, &format!("orgId={buyer_org}&limit=100"))
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    serde_json::json!({
        "categories": app.list_categories().await.assert_ok(StatusCode::OK),
        "products": products,
        "reviews": reviews,
        "orders": orders,
    })
}

#[tokio::test]
async fn the_seed_builds_a_browsable_demo_store_once() {
    let app = spawn_app().await;
    let data = SeedData::bundled().expect("infra/seed/ is readable");
    let first = devserver::seed::seed(&app.services)
        .await
        .expect("the seed runs on a fresh table");

    // A fresh table: everything was created, nothing found.
    let created = |kind: Kind| first.counts.get(&kind).map(|c| (c.created, c.existing));
    assert_eq!(created(Kind::Users), Some((data.users.len(), 0)));
    assert_eq!(created(Kind::Products), Some((data.products.len(), 0)));
    assert_eq!(created(Kind::Images), Some((data.products.len(), 0)));
    assert_eq!(created(Kind::Reviews), Some((data.reviews.len(), 0)));
    assert_eq!(created(Kind::Orders), Some((data.orders.len(), 0)));
    // The demo moderator was made one by the admin, and moderates.
    let moderator = data
        .users
        .iter()
        .find(|u| u.role == shared::auth::PlatformRole::Moderator)
        .expect("a demo moderator");
    let session = app
        .login(moderator.email.as_str(), &moderator.password)
        .await;
    let token = session.assert_ok(StatusCode::OK)["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.moderation_queue(&token, "")
        .await
        .assert_ok(StatusCode::OK);

    // The category tree: the roots, each with its children.
    let tree = app
        .list_categories()
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let shown: BTreeMap<String, BTreeSet<String>> = tree
        .as_array()
        .unwrap()
        .iter()
        .map(|root| {
            let children = root["children"].as_array().unwrap().iter();
            let slugs = children.map(|c| c["slug"].as_str().unwrap().to_owned());
            (root["slug"].as_str().unwrap().to_owned(), slugs.collect())
        })
        .collect();
    let expected: BTreeMap<String, BTreeSet<String>> = data
        .categories
        .iter()
        .map(|root| {
            let slugs = root.children.iter().map(|c| c.slug.as_str().to_owned());
            (root.slug.as_str().to_owned(), slugs.collect())
        })
        .collect();
    assert_eq!(shown, expected);
    assert!(shown.values().all(|children| !children.is_empty()));

    // A category lists its products; search finds one by a word of its name.
    let bread = &first.categories["bread"];
    let listed = app.list_products(&format!("categoryId={bread}")).await;
    let expected: BTreeSet<String> = data
        .products
        .iter()
        .filter(|p| p.category.as_str() == "bread")
        .map(|p| p.sku.as_str().to_owned())
        .collect();
    assert_eq!(skus(listed.assert_ok(StatusCode::OK)), expected);
    let found = app.search("q=sourdough").await;
    assert!(
        skus(found.assert_ok(StatusCode::OK)).contains("BAK-SOURDOUGH-1KG"),
        "{}",
        found.body
    );

    // A product as sold: price tiers, compliance, stock, its reviews, and a
    // ready picture with a thumbnail that downloads.
    let tomatoes = app
        .get_product(&first.products[&sku("TOM-ROMA-1KG")])
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert!(!tomatoes["priceTiers"].as_array().unwrap().is_empty());
    assert!(
        !tomatoes["compliance"]["certifications"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(tomatoes["stock"]["available"].as_i64().unwrap() > 0);
    let reviewed = data
        .reviews
        .iter()
        .filter(|r| r.sku == sku("TOM-ROMA-1KG"))
        .count();
    assert!(reviewed > 0);
    assert_eq!(tomatoes["rating"]["count"], reviewed);
    let (seller, seller_org) = owner_of(&data, OrgKind::Seller, true);
    let seller_token = sign_in(&app, &data, &seller).await;
    let image = tomatoes["images"][0]
        .as_str()
        .expect("the product has a picture");
    let asset = app
        .asset(&seller_token, image)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    assert_eq!(asset["status"], "ready", "{asset}");
    assert_eq!(
        (asset["width"].as_u64(), asset["height"].as_u64()),
        (Some(600), Some(600))
    );
    let (status, thumbnail) =
        http_request("GET", asset["thumbnailUrl"].as_str().unwrap(), &[], b"").await;
    assert_eq!(status, 200);
    assert!(thumbnail.starts_with(b"\x89PNG"), "the thumbnail is a PNG");

    // The verified seller is verified, the other seller not (the buyer's
    // verification shows in its invoice orders below).
    let orgs = app
        .my_orgs(&seller_token)
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let verified = &orgs.as_array().unwrap()[0]["org"];
    assert_eq!(verified["name"], seller_org.as_str());
    assert_eq!(verified["verification"]["businessVerified"], true);
    let (other_seller, _) = owner_of(&data, OrgKind::Seller, false);
    let other = sign_in(&app, &data, &other_seller).await;
    let orgs = app.my_orgs(&other).await.assert_ok(StatusCode::OK).clone();
    assert_eq!(orgs[0]["org"]["verification"]["businessVerified"], false);

    // The buyer org's orders, by invoice: one paid, one shipped.
    let (buyer, buyer_org_name) = owner_of(&data, OrgKind::Buyer, true);
    let buyer_token = sign_in(&app, &data, &buyer).await;
    let buyer_org = first.orgs[&buyer_org_name].clone();
    let orders = app
        .orders(&buyer_token, &format!("orgId={buyer_org}"))
        .await
        .assert_ok(StatusCode::OK)
        .clone();
    let statuses: BTreeSet<&str> = orders
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, BTreeSet::from(["paid", "shipped"]));
    assert!(
        orders
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["payment"]["method"] == "invoice")
    );

    // A second run finds everything and changes nothing.
    let before = snapshot(&app, &first, &buyer_token, &buyer_org).await;
    let pictures: BTreeSet<&str> = before["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["images"][0]
                .as_str()
                .expect("every product has a picture")
        })
        .collect();
    assert_eq!(
        pictures.len(),
        data.products.len(),
        "a picture of its own each"
    );
    let second = devserver::seed::seed(&app.services)
        .await
        .expect("the seed runs again");
    assert_eq!(second.created(), 0, "{second}");
    for (kind, count) in &first.counts {
        assert_eq!(
            second.counts[kind].existing,
            count.created + count.existing,
            "{kind:?}"
        );
    }
    assert_eq!(
        (
            &second.categories,
            &second.orgs,
            &second.products,
            &second.orders
        ),
        (
            &first.categories,
            &first.orgs,
            &first.products,
            &first.orders
        )
    );
    assert_eq!(
        snapshot(&app, &second, &buyer_token, &buyer_org).await,
        before
    );
}
