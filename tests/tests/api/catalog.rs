//! Catalog journeys: categories, products, listing, stock.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use bodega_tests::{
    TestApp, made_to_order_product, product_body, sample_events, spawn_app, unique_email,
};
use catalog::product::Product;
use futures::future::join_all;
use serde_json::{Value, json};
use shared::contracts::product::ProductForIndex;
use shared::projections::search_index;
use shared::stock::{self, StockError};
use shared::store::Transaction;

/// A signed-in platform admin's access token.
async fn admin_of(app: &TestApp) -> String {
    let email = unique_email("admin");
    app.signed_in_as(&email).await;
    app.promote_to_platform_admin(&email).await
}

/// An app with an admin, a seller owning a seller organization, and a
/// category: (app, admin, seller, category id, org id).
async fn shop() -> (TestApp, String, String, String, String) {
    let app = spawn_app().await;
    let admin = admin_of(&app).await;
    let seller = app.signed_in_as(&unique_email("seller")).await;
    let org = app.new_org(&seller, "seller").await;
    let category = app.category(&admin, "vegetables").await;
    (app, admin, seller, category, org)
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admins_build_the_category_tree_and_everyone_reads_it() {
    let app = spawn_app().await;
    let admin = admin_of(&app).await;
    let customer = app.signed_in_as(&unique_email("customer")).await;

    let food = app
        .create_category(
            &admin,
            &json!({"slug": "food", "name": "Food", "description": "Things to eat"}),
        )
        .await;
    let food_id = food.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let veg = app
        .create_category(
            &admin,
            &json!({"slug": "vegetables", "name": "Vegetables", "parentId": food_id}),
        )
        .await;
    let veg_id = veg.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.category(&admin, "drinks").await;

    let tree = app.list_categories().await;
    let roots = tree.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    let slugs: Vec<&str> = roots.iter().map(|c| c["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, vec!["drinks", "food"]);
    assert_eq!(roots[1]["children"][0]["slug"], "vegetables");

    let got = app.get_category("food").await;
    let data = got.assert_ok(StatusCode::OK);
    assert_eq!(data["description"], "Things to eat");
    assert_eq!(data["children"][0]["id"], veg_id.as_str());
    assert!(got.headers.contains_key("etag"));
    app.get_category("nope")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Only admins write.
    app.create_category(&customer, &json!({"slug": "x", "name": "X"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.call(
        axum::http::Method::POST,
        "/v1/categories",
        None,
        Some(&json!({"slug": "x", "name": "X"})),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.update_category(&customer, "food", None, &json!({"name": "Y"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // Every invalid field at once; unknown parents and loops are refused.
    let invalid = app
        .create_category(&admin, &json!({"slug": "Not A Slug", "name": " "}))
        .await;
    invalid.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(invalid.body["error"]["fields"]["slug"].is_array());
    assert!(invalid.body["error"]["fields"]["name"].is_array());
    app.create_category(
        &admin,
        &json!({"slug": "orphan", "name": "O", "parentId": "nope"}),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.create_category(&admin, &json!({"slug": "food", "name": "Again"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.update_category(&admin, "food", None, &json!({"parentId": veg_id}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // Renaming with a stale ETag fails; with the current one it works and frees the old slug.
    let etag = got.headers["etag"].to_str().unwrap().to_owned();
    let renamed = app
        .update_category(
            &admin,
            "food",
            Some(&etag),
            &json!({"slug": "groceries", "name": "Groceries"}),
        )
        .await;
    assert_eq!(renamed.assert_ok(StatusCode::OK)["slug"], "groceries");
    app.update_category(&admin, "groceries", Some(&etag), &json!({"name": "Stale"}))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    app.get_category("food")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.category(&admin, "food").await;
    app.update_category(&admin, "groceries", None, &json!({"slug": "drinks"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // Moving to the root.
    let moved = app
        .update_category(&admin, "vegetables", None, &json!({"parentId": null}))
        .await;
    assert!(moved.assert_ok(StatusCode::OK).get("parentId").is_none());
}

#[tokio::test]
async fn concurrent_creates_of_one_slug_make_exactly_one_category() {
    let app = spawn_app().await;
    let admin = admin_of(&app).await;
    let body = json!({"slug": "fruit", "name": "Fruit"});
    let responses = join_all((0..10).map(|_| app.create_category(&admin, &body))).await;
    let created = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let conflicts = responses
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 9), "{responses:?}");
    assert_eq!(
        app.list_categories()
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_seller_creates_reads_updates_and_archives_a_product() {
    let (app, _admin, seller, category, org) = shop().await;
    let mut body = product_body(&org, "tom-roma-1kg", &category, "Roma tomatoes", 299);
    body["tags"] = json!(["Fresh", "red"]);
    body["unit"] = json!("kg");
    body["originCountry"] = json!("pt");
    body["attributes"] = json!({"variety": "Roma"});
    body["priceTiers"] = json!([{"minQuantity": 10, "unitPrice": 250}]);
    body["minimumOrderQuantity"] = json!(2);
    body["compliance"] = json!({
        "certifications": [{"kind": "haccp", "issuer": "SGS", "number": "H-1", "expiresOn": "2027-03-31"}],
        "allergens": ["Celery"],
        "nutrition": {"energyKcal": 18}
    });
    let created = app.create_product(&seller, &body).await;
    let product = created.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!(product["sku"], "TOM-ROMA-1KG");
    assert_eq!(product["tags"], json!(["fresh", "red"]));
    assert_eq!(product["originCountry"], "PT");
    assert_eq!(product["stock"], json!({"available": 10, "reserved": 0}));
    assert_eq!(product["compliance"]["certifications"][0]["kind"], "haccp");
    assert_eq!(product["compliance"]["allergens"], json!(["celery"]));
    assert_eq!(product["archived"], false);
    let id = product["id"].as_str().unwrap();

    let got = app.get_product(id).await;
    assert_eq!(got.assert_ok(StatusCode::OK), &product);
    app.get_product("nope")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Update with the current ETag; a second update with the old one is stale.
    let updated = app
        .update_product(
            &seller,
            id,
            Some("\"1\""),
            &json!({"name": "Cherry tomatoes", "price": {"amount": 349, "currency": "EUR"}}),
        )
        .await;
    let data = updated.assert_ok(StatusCode::OK);
    assert_eq!(data["name"], "Cherry tomatoes");
    assert_eq!(data["price"]["amount"], 349);
    assert_eq!(data["unit"], "kg", "fields not sent are kept");
    assert_eq!(updated.headers["etag"], "\"2\"");
    app.update_product(&seller, id, Some("\"1\""), &json!({"name": "Lost update"}))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    app.update_product(&seller, id, Some("garbage"), &json!({"name": "x"}))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    app.update_product(&seller, id, None, &json!({"sku": "OTHER"}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.update_product(&seller, id, None, &json!({"categoryId": "nope"}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.call(
        axum::http::Method::PATCH,
        &format!("/v1/products/{id}"),
        None,
        Some(&json!({"name": "x"})),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    // Archived: out of the lists, still readable by id, no longer editable.
    let listed = app.list_products(&format!("categoryId={category}")).await;
    assert_eq!(ids(listed.assert_ok(StatusCode::OK)), vec![id.to_owned()]);
    let archived = app.archive_product(&seller, id).await;
    assert_eq!(archived.assert_ok(StatusCode::OK)["archived"], true);
    app.archive_product(&seller, id)
        .await
        .assert_ok(StatusCode::OK);
    let listed = app.list_products(&format!("categoryId={category}")).await;
    assert!(ids(listed.assert_ok(StatusCode::OK)).is_empty());
    let listed = app.list_products(&format!("sellerOrgId={org}")).await;
    assert!(ids(listed.assert_ok(StatusCode::OK)).is_empty());
    let got = app.get_product(id).await;
    assert_eq!(got.assert_ok(StatusCode::OK)["archived"], true);
    app.update_product(&seller, id, None, &json!({"name": "Back"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // The SKU stays taken: old orders still name it.
    app.create_product(&seller, &body)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
}

#[tokio::test]
async fn an_invalid_product_reports_every_field() {
    let (app, _admin, seller, category, org) = shop().await;
    let body = json!({
        "sellerOrgId": &org,
        "sku": "bad sku",
        "name": "",
        "categoryId": category,
        "price": {"amount": -1, "currency": "EUR"},
        "unit": "ton",
        "originCountry": "XX",
        "compliance": {"certifications": [{"kind": "magic", "issuer": "", "number": "1", "expiresOn": "soon"}]}
    });
    let response = app.create_product(&seller, &body).await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = response.body["error"]["fields"].as_object().unwrap();
    for field in [
        "sku",
        "name",
        "price.amount",
        "unit",
        "originCountry",
        "compliance.certifications[0].kind",
        "compliance.certifications[0].issuer",
        "compliance.certifications[0].expiresOn",
    ] {
        assert!(fields.contains_key(field), "{field} missing: {fields:?}");
    }
    let unknown_category = product_body(&org, "A-1", "no-such-category", "A", 1);
    let response = app.create_product(&seller, &unknown_category).await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(response.body["error"]["fields"]["categoryId"].is_array());
}

#[tokio::test]
async fn concurrent_creates_of_one_sku_make_exactly_one_product() {
    let (app, _admin, seller, category, org) = shop().await;
    let responses = join_all((0..10).map(|i| {
        let body = product_body(&org, "same-sku", &category, &format!("Product {i}"), 100);
        let app = &app;
        let seller = &seller;
        async move { app.create_product(seller, &body).await }
    }))
    .await;
    let created = responses
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let conflicts: Vec<_> = responses
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .collect();
    assert_eq!((created, conflicts.len()), (1, 9), "{responses:?}");
    assert!(conflicts[0].body["error"]["fields"]["sku"].is_array());
    let listed = app.list_products(&format!("categoryId={category}")).await;
    assert_eq!(ids(listed.assert_ok(StatusCode::OK)).len(), 1);
}

#[tokio::test]
async fn bulk_create_saves_the_valid_products_and_reports_the_rest() {
    let (app, _admin, seller, category, org) = shop().await;
    app.create_product(
        &seller,
        &product_body(&org, "taken", &category, "Taken", 100),
    )
    .await
    .assert_ok(StatusCode::CREATED);
    let products = vec![
        product_body(&org, "b-1", &category, "One", 100),
        json!({"sellerOrgId": &org, "sku": "b-2", "name": "", "categoryId": category, "price": {"amount": 1, "currency": "EUR"}}),
        product_body(&org, "taken", &category, "Duplicate", 100),
        json!("not an object"),
        product_body(&org, "b-3", &category, "Three", 300),
    ];
    let response = app.bulk_create_products(&seller, &products).await;
    let data = response.assert_ok(StatusCode::OK);
    assert_eq!(data["created"], 2);
    assert_eq!(data["failed"], 3);
    let statuses: Vec<u64> = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 422, 409, 422, 201]);
    assert!(data["results"][1]["error"]["fields"]["name"].is_array());
    assert_eq!(data["results"][2]["error"]["code"], "CONFLICT");
    let saved = data["results"][4]["product"]["id"].as_str().unwrap();
    app.get_product(saved).await.assert_ok(StatusCode::OK);
    let listed = app.list_products(&format!("categoryId={category}")).await;
    assert_eq!(ids(listed.assert_ok(StatusCode::OK)).len(), 3);

    let too_many: Vec<Value> = (0..26)
        .map(|i| product_body(&org, &format!("m-{i}"), &category, "M", 1))
        .collect();
    app.bulk_create_products(&seller, &too_many)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.bulk_create_products(&seller, &[])
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

#[tokio::test]
async fn bulk_update_saves_the_valid_changes_and_reports_the_rest() {
    let (app, _admin, seller, category, org) = shop().await;
    let mut ids = Vec::new();
    for sku in ["u-1", "u-2", "u-3"] {
        let created = app
            .create_product(&seller, &product_body(&org, sku, &category, sku, 100))
            .await;
        ids.push(
            created.assert_ok(StatusCode::CREATED)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    let other_org = app.new_org(&stranger, "seller").await;
    let theirs = app
        .create_product(
            &stranger,
            &product_body(&other_org, "theirs", &category, "Theirs", 100),
        )
        .await;
    let theirs = theirs.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let current = app.get_product(&ids[0]).await;
    let etag = current.headers["etag"].to_str().unwrap().to_owned();
    let stale = app
        .update_product(&seller, &ids[1], None, &json!({"description": "Moved on"}))
        .await;
    stale.assert_ok(StatusCode::OK);

    let changes = vec![
        json!({"id": ids[0], "ifMatch": etag, "name": "Renamed in bulk", "price": {"amount": 250, "currency": "EUR"}}),
        json!({"id": ids[1], "ifMatch": etag, "name": "Stale edit"}),
        json!({"id": ids[2], "name": " ", "price": {"amount": -1, "currency": "EUR"}}),
        json!({"id": theirs, "name": "Hijacked"}),
        json!({"id": "no-such-product", "name": "Ghost"}),
        json!("not an object"),
    ];
    let response = app.bulk_update_products(&seller, &changes).await;
    let data = response.assert_ok(StatusCode::OK);
    assert_eq!(data["updated"], 1, "{data}");
    assert_eq!(data["failed"], 5);
    let statuses: Vec<u64> = data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![200, 412, 422, 404, 404, 422]);
    assert_eq!(data["results"][0]["product"]["name"], "Renamed in bulk");
    assert_eq!(data["results"][1]["error"]["code"], "PRECONDITION_FAILED");
    let fields = &data["results"][2]["error"]["fields"];
    assert!(
        fields["name"].is_array() && fields["price.amount"].is_array(),
        "{fields}"
    );
    assert_eq!(data["results"][3]["error"]["code"], "NOT_FOUND");

    // The valid change is saved with a new version; the others changed nothing.
    let renamed = app.get_product(&ids[0]).await;
    assert_eq!(renamed.body["data"]["name"], "Renamed in bulk");
    assert_eq!(renamed.body["data"]["price"]["amount"], 250);
    assert_ne!(renamed.headers["etag"].to_str().unwrap(), etag);
    let untouched = app.get_product(&ids[1]).await;
    assert_eq!(untouched.body["data"]["name"], "u-2");
    assert_eq!(untouched.body["data"]["description"], "Moved on");
    assert_eq!(app.get_product(&ids[2]).await.body["data"]["name"], "u-3");
    assert_eq!(
        app.get_product(&theirs).await.body["data"]["name"],
        "Theirs"
    );

    let too_many: Vec<Value> = (0..26)
        .map(|_| json!({"id": ids[0], "name": "M"}))
        .collect();
    app.bulk_update_products(&seller, &too_many)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.bulk_update_products(&seller, &[])
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        app.get_product(&ids[0]).await.body["data"]["name"],
        "Renamed in bulk"
    );
}

#[tokio::test]
async fn product_lists_filter_sort_and_page_with_checked_cursors() {
    let (app, admin, seller, category, org) = shop().await;
    let other_category = app.category(&admin, "fruit").await;
    let org_b = app.new_org(&seller, "seller").await;
    let mut created = Vec::new();
    for (sku, price, stock, org) in [
        ("p-1", 500, 10, org.as_str()),
        ("p-2", 100, 0, org.as_str()),
        ("p-3", 300, 5, org_b.as_str()),
        ("p-4", 200, 1, org.as_str()),
    ] {
        let mut body = product_body(org, sku, &category, sku, price);
        body["stock"] = json!(stock);
        let response = app.create_product(&seller, &body).await;
        created.push(
            response.assert_ok(StatusCode::CREATED)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut inactive = product_body(&org, "p-5", &category, "Hidden", 50);
    inactive["active"] = json!(false);
    app.create_product(&seller, &inactive)
        .await
        .assert_ok(StatusCode::CREATED);
    app.create_product(
        &seller,
        &product_body(&org, "f-1", &other_category, "Apple", 50),
    )
    .await
    .assert_ok(StatusCode::CREATED);

    let list = |query: String| {
        let app = &app;
        async move { ids(app.list_products(&query).await.assert_ok(StatusCode::OK)) }
    };
    let newest: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(list(format!("categoryId={category}")).await, newest);
    assert_eq!(
        list(format!("categoryId={category}&sort=price_asc")).await,
        vec![
            created[1].clone(),
            created[3].clone(),
            created[2].clone(),
            created[0].clone()
        ]
    );
    assert_eq!(
        list(format!(
            "categoryId={category}&sort=price_desc&minPrice=200&maxPrice=400"
        ))
        .await,
        vec![created[2].clone(), created[3].clone()]
    );
    assert_eq!(
        list(format!("categoryId={category}&minPrice=150&maxPrice=350")).await,
        vec![created[3].clone(), created[2].clone()]
    );
    assert_eq!(
        list(format!("categoryId={category}&inStock=true&sort=price_asc")).await,
        vec![created[3].clone(), created[2].clone(), created[0].clone()]
    );
    assert_eq!(
        list(format!("categoryId={category}&sellerOrgId={org_b}")).await,
        vec![created[2].clone()]
    );
    assert_eq!(
        list(format!("sellerOrgId={org_b}")).await,
        vec![created[2].clone()]
    );
    assert_eq!(
        list(format!("sellerOrgId={org}&inStock=true")).await.len(),
        3
    );
    // A seller's products by price (GSI4), across its categories.
    let by_price = list(format!("sellerOrgId={org}&sort=price_asc")).await;
    assert_eq!(
        by_price.len(),
        4,
        "three in this category, the apple in fruit"
    );
    assert_eq!(
        by_price[1..],
        [created[1].clone(), created[3].clone(), created[0].clone()]
    );
    assert_eq!(
        list(format!(
            "sellerOrgId={org}&sort=price_desc&minPrice=100&maxPrice=300"
        ))
        .await,
        vec![created[3].clone(), created[1].clone()]
    );

    // Page through two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("categoryId={category}&limit=2&cursor={c}"),
            None => format!("categoryId={category}&limit=2"),
        };
        let page = app.list_products(&query).await;
        assert_eq!(page.body["pagination"]["limit"], 2);
        seen.extend(ids(page.assert_ok(StatusCode::OK)));
        match page.body["pagination"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, newest);

    // Cursors are checked: garbage, or one from another list, is a 400.
    let first = app
        .list_products(&format!("categoryId={category}&limit=1"))
        .await;
    let foreign = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.list_products(&format!("categoryId={other_category}&cursor={foreign}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.list_products(&format!(
        "categoryId={category}&sort=price_asc&cursor={foreign}"
    ))
    .await
    .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.list_products(&format!("categoryId={category}&cursor=not-a-cursor"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");

    // Parameters are validated.
    for query in [
        format!("categoryId={category}&limit=101"),
        format!("categoryId={category}&limit=0"),
        format!("categoryId={category}&sort=random"),
        format!("categoryId={category}&minPrice=5&maxPrice=1"),
        format!("categoryId={category}&currency=eur"),
        "limit=5".to_owned(),
    ] {
        app.list_products(&query)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    }
    // Search checks the same filters the same way (one parameter set).
    for (query, field) in [
        ("q=tomato&minPrice=5&maxPrice=1", "maxPrice"),
        ("q=tomato&currency=eur", "currency"),
        ("q=tomato&inStock=maybe", "inStock"),
        ("q=tomato&limit=101", "limit"),
    ] {
        let refused = app.search(query).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"][field].is_array(),
            "{query}: {}",
            refused.body
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_stock_decrements_never_take_stock_below_zero() {
    let (app, _admin, seller, category, org) = shop().await;
    let mut body = product_body(&org, "scarce", &category, "Scarce", 100);
    body["stock"] = json!(30);
    let product = app.create_product(&seller, &body).await;
    let id = product.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let responses = join_all((0..50).map(|_| app.adjust_stock(&seller, &id, -1))).await;
    let ok = responses
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = responses
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (ok, refused),
        (30, 20),
        "{:?}",
        responses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let stock = &app.get_product(&id).await.body["data"]["stock"];
    assert_eq!(stock, &json!({"available": 0, "reserved": 0}));

    let added = app.adjust_stock(&seller, &id, 7).await;
    assert_eq!(added.assert_ok(StatusCode::OK)["available"], 7);
    app.adjust_stock(&seller, &id, 0)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.adjust_stock(&seller, "nope", 1)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn checkout_reserves_releases_and_commits_stock_atomically() {
    let (app, _admin, seller, category, org) = shop().await;
    let store = &app.services.store;
    let mut body = product_body(&org, "basket", &category, "Basket", 100);
    body["stock"] = json!(20);
    let product = app.create_product(&seller, &body).await;
    let id = product.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // 50 concurrent reservations of 1 against 20 available.
    let outcomes = join_all((0..50).map(|_| stock::reserve(store, &id, 1))).await;
    let reserved = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(reserved, 20);
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| matches!(e, StockError::Insufficient))
    );
    let after = stock::release(store, &id, 5).await.unwrap();
    assert_eq!((after.available, after.reserved), (5, 15));
    let after = stock::commit(store, &id, 15).await.unwrap();
    assert_eq!((after.available, after.reserved), (5, 0));
    assert!(matches!(
        stock::commit(store, &id, 1).await,
        Err(StockError::Insufficient)
    ));
    assert!(matches!(
        stock::release(store, &id, 1).await,
        Err(StockError::Insufficient)
    ));
    assert!(matches!(
        stock::reserve(store, &id, 0).await,
        Err(StockError::InvalidQuantity)
    ));
    assert!(matches!(
        stock::reserve(store, "nope", 1).await,
        Err(StockError::NotFound)
    ));

    // As items of a checkout's transaction: all or nothing.
    let too_much = vec![
        stock::reserve_item(store, &id, 2).unwrap(),
        stock::reserve_item(store, &id, 100).unwrap(),
    ];
    // Two updates of one item in a transaction are refused outright; use
    // one product per item as checkout does.
    assert!(store.transact(too_much).await.is_err());
    let mut other = product_body(&org, "other", &category, "Other", 100);
    other["stock"] = json!(1);
    let other = app.create_product(&seller, &other).await;
    let other_id = other.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tx = Transaction::new();
    tx.push(stock::reserve_item(store, &id, 2).unwrap())
        .named("first");
    tx.push(stock::reserve_item(store, &other_id, 2).unwrap())
        .named("second");
    let cancelled = store.transact(tx).await.unwrap_err();
    assert!(cancelled.condition_failed("second") && !cancelled.condition_failed("first"));
    let untouched = &app.get_product(&id).await.body["data"]["stock"];
    assert_eq!(untouched, &json!({"available": 5, "reserved": 0}));
    store
        .transact(vec![
            stock::reserve_item(store, &id, 2).unwrap(),
            stock::reserve_item(store, &other_id, 1).unwrap(),
        ])
        .await
        .unwrap();
    assert_eq!(
        app.get_product(&other_id).await.body["data"]["stock"],
        json!({"available": 0, "reserved": 1})
    );

    // Archived products cannot be reserved.
    app.archive_product(&seller, &other_id)
        .await
        .assert_ok(StatusCode::OK);
    app.adjust_stock(&seller, &other_id, 3)
        .await
        .assert_ok(StatusCode::OK);
    assert!(matches!(
        stock::reserve(store, &other_id, 1).await,
        Err(StockError::NotForSale)
    ));
}

#[tokio::test]
async fn reviews_keep_the_product_rating_exact_and_list_newest_first() {
    let (app, admin, seller, category, org) = shop().await;
    let id = app
        .new_product(
            &seller,
            &product_body(&org, "rated", &category, "Rated", 100),
        )
        .await;

    // 12 users review at once: every rating counts, exactly.
    let mut reviewers = Vec::new();
    for i in 0..12 {
        reviewers.push(app.signed_in_as(&unique_email(&format!("r{i}"))).await);
    }
    let responses = join_all(reviewers.iter().enumerate().map(|(i, token)| {
        let body = json!({"rating": 1 + (i as i64 % 5), "title": format!("Review {i}"), "body": "<b>Good</b> stuff"});
        let app = &app;
        let id = &id;
        async move { app.create_review(token, id, &body).await }
    }))
    .await;
    assert!(
        responses.iter().all(|r| r.status == StatusCode::CREATED),
        "{responses:?}"
    );
    assert_eq!(
        responses[0].body["data"]["body"], "Good stuff",
        "HTML is stripped"
    );
    let sum: i64 = (0..12).map(|i| 1 + (i % 5)).sum();
    let rating = &app.get_product(&id).await.body["data"]["rating"];
    assert_eq!(rating["count"], 12);
    assert!((rating["average"].as_f64().unwrap() - sum as f64 / 12.0).abs() < 1e-9);

    // One review per user per product.
    app.create_review(&reviewers[0], &id, &json!({"rating": 5, "title": "Again"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // Validation, and products that do not exist.
    let invalid = app
        .create_review(
            &reviewers[0],
            &id,
            &json!({"rating": 6, "title": "<i></i>"}),
        )
        .await;
    invalid.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(invalid.body["error"]["fields"]["rating"].is_array());
    assert!(invalid.body["error"]["fields"]["title"].is_array());
    app.create_review(&reviewers[0], "nope", &json!({"rating": 5, "title": "x"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Concurrent edits of different reviews, then a delete and a hide.
    join_all(reviewers.iter().take(6).map(|token| {
        let app = &app;
        let id = &id;
        async move {
            app.update_my_review(token, id, &json!({"rating": 5, "title": "Edited"}))
                .await
                .assert_ok(StatusCode::OK)
                .clone()
        }
    }))
    .await;
    let expected_sum = 6 * 5 + (6..12).map(|i| 1 + (i % 5)).sum::<i64>();
    let rating = &app.get_product(&id).await.body["data"]["rating"];
    assert!((rating["average"].as_f64().unwrap() - expected_sum as f64 / 12.0).abs() < 1e-9);

    app.delete_my_review(&reviewers[0], &id)
        .await
        .assert_ok(StatusCode::OK);
    app.delete_my_review(&reviewers[0], &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let author = app.me(&reviewers[1]).await.body["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.hide_review(&reviewers[2], &id, &author)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let hidden = app.hide_review(&admin, &id, &author).await;
    assert_eq!(hidden.assert_ok(StatusCode::OK)["hidden"], true);
    app.hide_review(&admin, &id, &author)
        .await
        .assert_ok(StatusCode::OK);
    app.update_my_review(&reviewers[1], &id, &json!({"rating": 1, "title": "Sneaky"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let rating = &app.get_product(&id).await.body["data"]["rating"];
    assert_eq!(rating["count"], 10);
    assert!((rating["average"].as_f64().unwrap() - (expected_sum - 10) as f64 / 10.0).abs() < 1e-9);
    // Deleting a hidden review does not take its rating out twice.
    app.delete_my_review(&reviewers[1], &id)
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(
        app.get_product(&id).await.body["data"]["rating"]["count"],
        10
    );

    // The list: visible reviews only, newest first, paginated with checked cursors.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=4&cursor={c}"),
            None => "limit=4".to_owned(),
        };
        let page = app.list_reviews(&id, &query).await;
        seen.extend(
            page.assert_ok(StatusCode::OK)
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match page.body["pagination"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    let mut newest_first = seen.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, newest_first);
    let first = app.list_reviews(&id, "limit=1").await;
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.list_reviews("other-product", &format!("cursor={cursor}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    // A page holds at most 100: asking for more is refused, not clamped.
    let too_many = app.list_reviews(&id, "limit=500").await;
    too_many.assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    assert!(
        too_many.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("from 1 to 100"),
        "{}",
        too_many.body
    );
    let most = app.list_reviews(&id, "limit=100").await;
    assert_eq!(
        most.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        seen.len()
    );
    assert_eq!(most.body["pagination"]["limit"], 100);
}

#[tokio::test]
async fn only_members_with_product_write_manage_an_organizations_products() {
    let (app, _admin, owner, category, org) = shop().await;
    let product = app
        .create_product(
            &owner,
            &product_body(&org, "owned", &category, "Owned", 100),
        )
        .await;
    let id = product.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Someone from another organization: the product is not theirs to see as editable.
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    let other_org = app.new_org(&stranger, "seller").await;
    app.update_product(&stranger, &id, None, &json!({"name": "Hijacked"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.archive_product(&stranger, &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.adjust_stock(&stranger, &id, -1)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.create_product(
        &stranger,
        &product_body(&org, "planted", &category, "Planted", 1),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let bulk = app
        .bulk_create_products(
            &stranger,
            &[product_body(&org, "planted-2", &category, "P", 1)],
        )
        .await;
    assert_eq!(bulk.assert_ok(StatusCode::OK)["results"][0]["status"], 404);
    // Their own organization works.
    app.create_product(
        &stranger,
        &product_body(&other_org, "theirs", &category, "Theirs", 1),
    )
    .await
    .assert_ok(StatusCode::CREATED);

    // A member who is only a viewer: 403, and nothing changed.
    let (viewer, _) = app
        .joins_org(&owner, &org, &unique_email("viewer"), "member", &["viewer"])
        .await;
    app.update_product(&viewer, &id, None, &json!({"name": "Viewer edit"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.adjust_stock(&viewer, &id, 5)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.create_product(&viewer, &product_body(&org, "viewer", &category, "V", 1))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // A member with the seller capability may.
    let (member_seller, _) = app
        .joins_org(&owner, &org, &unique_email("clerk"), "member", &["seller"])
        .await;
    app.update_product(
        &member_seller,
        &id,
        None,
        &json!({"name": "Renamed by clerk"}),
    )
    .await
    .assert_ok(StatusCode::OK);
    let product = app.get_product(&id).await;
    assert_eq!(product.body["data"]["name"], "Renamed by clerk");
    assert_eq!(product.body["data"]["stock"]["available"], 10);

    // B2B integrations use the organization's API keys, with the key's permissions.
    let (writer_key, _) = app.new_api_key(&owner, &org, &["product:write"]).await;
    let bulk = app
        .bulk_create_products(
            &writer_key,
            &[product_body(&org, "by-key", &category, "By key", 5)],
        )
        .await;
    assert_eq!(bulk.assert_ok(StatusCode::OK)["created"], 1);
    let (reader_key, _) = app.new_api_key(&owner, &org, &["product:read"]).await;
    app.adjust_stock(&reader_key, &id, 1)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let (foreign_key, _) = app
        .new_api_key(&stranger, &other_org, &["product:write"])
        .await;
    app.update_product(&foreign_key, &id, None, &json!({"name": "Foreign"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// What the stream function does for a product write: hand the old and new
/// images to the search index.
async fn index_change(app: &TestApp, old: Option<ProductForIndex>, id: &str) -> ProductForIndex {
    let (pk, sk) = shared::stock::product_key(id);
    let new: ProductForIndex = app.services.store.get(&pk, sk).await.unwrap().unwrap();
    search_index::apply_product_change(&app.services.store, old, Some(new.clone()))
        .await
        .unwrap();
    new
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_finds_products_by_their_category_name_ranked_below_other_matches() {
    let (app, admin, seller, vegetables, org) = shop().await;
    let herbs = app
        .create_category(
            &admin,
            &json!({"slug": "herbs", "name": "Mediterranean Herbs"}),
        )
        .await;
    let herbs = herbs.assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The index reads the category through its read model.
    let (pk, sk) = shared::contracts::category::category_key(&herbs);
    let stored: catalog::category::CategoryRecord =
        app.services.store.get(&pk, sk).await.unwrap().unwrap();
    let read: shared::contracts::category::CategoryName =
        app.services.store.get(&pk, sk).await.unwrap().unwrap();
    assert_eq!((read.id, read.name), (stored.id, stored.name));
    let mut created = Vec::new();
    for (sku, name, category) in [
        ("h-1", "Basil", &herbs),
        ("h-2", "Herb Garden Kit", &vegetables),
    ] {
        let response = app
            .create_product(&seller, &product_body(&org, sku, category, name, 100))
            .await;
        let id = response.assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        index_change(&app, None, &id).await;
        created.push(id);
    }
    let search = |query: &'static str| {
        let app = &app;
        async move { names(app.search(query).await.assert_ok(StatusCode::OK)) }
    };
    assert_eq!(search("q=mediterranean").await, vec!["Basil"]);
    // A match in the name ranks above a match in the category's name.
    assert_eq!(search("q=herbs").await, vec!["Herb Garden Kit", "Basil"]);

    // The stream may deliver a record twice: still one result.
    let basil = index_change(&app, None, &created[0]).await;
    let basil = index_change(&app, Some(basil), &created[0]).await;
    assert_eq!(search("q=mediterranean%20basil").await, vec!["Basil"]);

    // Moving it to another category takes the old category's words away.
    app.update_product(
        &seller,
        &created[0],
        None,
        &json!({"categoryId": vegetables}),
    )
    .await
    .assert_ok(StatusCode::OK);
    index_change(&app, Some(basil), &created[0]).await;
    assert!(search("q=mediterranean").await.is_empty());
    assert_eq!(
        search("q=vegetables").await,
        vec!["Herb Garden Kit", "Basil"]
    );
}

#[tokio::test]
async fn search_finds_products_by_stem_ranks_name_matches_first_and_drops_archived_ones() {
    let (app, admin, seller, category, org) = shop().await;
    let fruit = app.category(&admin, "fruit").await;
    let mut ids = BTreeMap::new();
    for (sku, name, description, tags, stock, cat) in [
        (
            "t-1",
            "Roma Tomato",
            "Firm plum tomatoes for sauce",
            json!(["organic"]),
            5,
            &category,
        ),
        (
            "t-2",
            "Passata",
            "Sieved tomatoes, bottled",
            json!(["organic"]),
            5,
            &category,
        ),
        (
            "t-3",
            "Cherry Tomatoes",
            "Sweet snacking tomatoes",
            json!([]),
            0,
            &category,
        ),
        (
            "t-4",
            "Tomato Jam",
            "Sweet preserve",
            json!(["organic"]),
            2,
            &fruit,
        ),
        (
            "c-1",
            "Cucumber",
            "Crunchy",
            json!(["organic"]),
            3,
            &category,
        ),
    ] {
        let mut body = product_body(&org, sku, cat, name, 100);
        body["description"] = json!(description);
        body["tags"] = tags;
        body["stock"] = json!(stock);
        let created = app.create_product(&seller, &body).await;
        let id = created.assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        index_change(&app, None, &id).await;
        ids.insert(sku, id);
    }

    // "tomatoes" finds "Tomato" by stem; name matches rank above description-only ones.
    let found = app.search("q=tomatoes").await;
    let found = names(found.assert_ok(StatusCode::OK));
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(
        found[3], "Passata",
        "a description-only match ranks last: {found:?}"
    );
    // AND semantics: every word must match.
    assert_eq!(
        names(
            app.search("q=organic%20tomato")
                .await
                .assert_ok(StatusCode::OK)
        )
        .len(),
        3
    );
    assert_eq!(
        names(
            app.search("q=sweet%20tomato%20jam")
                .await
                .assert_ok(StatusCode::OK)
        ),
        vec!["Tomato Jam"]
    );
    // Filters as in listing.
    let filtered = app
        .search(&format!("q=tomato&categoryId={category}&inStock=true"))
        .await;
    let mut filtered = names(filtered.assert_ok(StatusCode::OK));
    filtered.sort();
    assert_eq!(filtered, vec!["Passata", "Roma Tomato"]);
    // Pages, with checked cursors.
    let first = app.search("q=tomato&limit=3").await;
    assert_eq!(first.assert_ok(StatusCode::OK).as_array().unwrap().len(), 3);
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .search(&format!("q=tomato&limit=3&cursor={cursor}"))
        .await;
    assert_eq!(names(second.assert_ok(StatusCode::OK)), vec!["Passata"]);
    assert!(second.body["pagination"]["nextCursor"].is_null());
    app.search("q=tomato&cursor=garbage")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.search("q=%20a%20")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // Suggestions come from product names.
    let suggestions = app.suggest("tom").await;
    let mut suggested: Vec<&str> = suggestions
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    suggested.sort();
    assert_eq!(
        suggested,
        vec!["Cherry Tomatoes", "Roma Tomato", "Tomato Jam"]
    );
    app.suggest("t")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // A rename moves the product's terms; archiving removes them; applying a change twice is harmless.
    let old = index_change(&app, None, &ids["t-1"]).await;
    app.update_product(&seller, &ids["t-1"], None, &json!({"name": "Plum Tomato"}))
        .await
        .assert_ok(StatusCode::OK);
    let renamed = index_change(&app, Some(old.clone()), &ids["t-1"]).await;
    index_change(&app, Some(old), &ids["t-1"]).await;
    assert!(names(app.search("q=roma").await.assert_ok(StatusCode::OK)).is_empty());
    assert_eq!(
        names(app.search("q=plum").await.assert_ok(StatusCode::OK)),
        vec!["Plum Tomato"]
    );
    app.archive_product(&seller, &ids["t-1"])
        .await
        .assert_ok(StatusCode::OK);
    index_change(&app, Some(renamed), &ids["t-1"]).await;
    let remaining = names(app.search("q=tomato").await.assert_ok(StatusCode::OK));
    assert!(
        !remaining.contains(&"Plum Tomato".to_owned()),
        "{remaining:?}"
    );
    let postings = app
        .services
        .store
        .query_page::<search_index::TermItem>(
            &shared::store::PartitionQuery {
                index: shared::store::Index::Table,
                partition: "SEARCH#tomato".into(),
                sort_prefix: None,
                ascending: true,
            },
            100,
            None,
        )
        .await
        .unwrap();
    assert!(postings.items.iter().all(|t| t.product_id != ids["t-1"]));
    assert_eq!(postings.items.len(), 3);

    // Admins see what people searched for, and what found nothing.
    app.search("q=unicorn%20steak")
        .await
        .assert_ok(StatusCode::OK);
    app.search("q=Unicorn%20STEAK!")
        .await
        .assert_ok(StatusCode::OK);
    let top = app.search_queries(&admin, "top=3").await;
    let top = top.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(top.len(), 3);
    assert_eq!(top[0]["query"], "tomato");
    assert_eq!(
        top[0]["count"], 3,
        "pages after the first are not counted again"
    );
    let failed = app.search_queries(&admin, "noResults=true").await;
    let failed = failed.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(failed[0]["query"], "unicorn steak");
    assert_eq!(failed[0]["noResults"], 2);
    assert!(failed.iter().all(|q| q["noResults"].as_i64().unwrap() > 0));
    app.search_queries(&seller, "")
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.search_queries(&admin, "top=0")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

#[tokio::test]
async fn products_take_only_ready_product_images_of_their_own_organization() {
    let (app, _admin, seller, category, org) = shop().await;
    // A ready image of this org, uploaded and checked.
    let bytes = {
        let image = image::RgbImage::from_pixel(40, 30, image::Rgb([200, 40, 40]));
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    };
    let upload = json!({"purpose": "product_image", "contentType": "image/png", "size": bytes.len(), "orgId": org});
    let grant = app
        .request_upload(&seller, &upload)
        .await
        .assert_ok(StatusCode::CREATED)
        .clone();
    let ready = grant["assetId"].as_str().unwrap().to_owned();
    app.upload_with(&grant, &bytes).await;
    app.ingest(&ready).await;
    // One still pending, and one of another organization.
    let pending = app
        .request_upload(&seller, &upload)
        .await
        .assert_ok(StatusCode::CREATED)["assetId"]
        .as_str()
        .unwrap()
        .to_owned();
    let rival = app.signed_in_as(&unique_email("rival")).await;
    let rival_org = app.new_org(&rival, "seller").await;
    let rival_upload = json!({"purpose": "product_image", "contentType": "image/png", "size": 10, "orgId": rival_org});
    let foreign = app
        .request_upload(&rival, &rival_upload)
        .await
        .assert_ok(StatusCode::CREATED)["assetId"]
        .as_str()
        .unwrap()
        .to_owned();

    for (sku, bad) in [
        ("IMG-1", &pending),
        ("IMG-2", &foreign),
        ("IMG-3", &"no-such-asset".to_owned()),
    ] {
        let mut body = product_body(&org, sku, &category, "Tomato", 250);
        body["images"] = json!([ready, bad]);
        let refused = app.create_product(&seller, &body).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"]["images"][0]
                .as_str()
                .unwrap()
                .contains(bad.as_str())
        );
    }
    let mut body = product_body(&org, "IMG-4", &category, "Tomato", 250);
    body["images"] = json!([ready]);
    let created = app.create_product(&seller, &body).await;
    let product = created.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(product["images"], json!([ready]));

    // Adding an image later is checked the same way.
    let id = product["id"].as_str().unwrap();
    app.update_product(&seller, id, None, &json!({"images": [ready, pending]}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

/// The names search finds for `q`, once the stream has caught up.
async fn searched(app: &TestApp, q: &str) -> Vec<String> {
    app.drain_stream().await;
    names(&app.search(&format!("q={q}")).await.body["data"])
}

#[tokio::test]
async fn the_stream_keeps_search_current_as_products_change() {
    let (app, _admin, seller, category, org) = shop().await;
    let id = app
        .new_product(
            &seller,
            &product_body(&org, "HEIR-1", &category, "Heirloom Tomatoes", 300),
        )
        .await;

    assert_eq!(searched(&app, "tomato").await, ["Heirloom Tomatoes"]);
    app.update_product(&seller, &id, None, &json!({"name": "Heirloom Peppers"}))
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(searched(&app, "pepper").await, ["Heirloom Peppers"]);
    assert!(searched(&app, "tomato").await.is_empty());
    app.archive_product(&seller, &id).await;
    assert!(searched(&app, "pepper").await.is_empty());
}

/// The product stream sample, as Lambda would deliver it: its item is put
/// into this test's table (in a category that exists here), then the
/// stream handler indexes it, once however often the record comes.
#[tokio::test]
async fn the_product_stream_sample_is_indexed_once_however_often_it_is_delivered() {
    let (app, _admin, _seller, category, _org) = shop().await;
    let mut json = sample_events()
        .remove("stream/product-created.json")
        .expect("the product stream sample exists");
    json["Records"][0]["dynamodb"]["NewImage"]["categoryId"]["S"] = category.clone().into();
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_value(json).expect("a DynamoDB stream event");
    let change = stream::Change {
        record: &event.records[0],
        item_type: catalog::product::PRODUCT_TYPE.to_owned(),
    };
    let mut product: Product = change
        .new_image()
        .unwrap()
        .expect("the sample is an INSERT with a new image");
    product.refresh_listing_keys();
    app.services.store.put(&product, None).await.unwrap();

    let state = stream::StreamState::new(&app.services);
    for _ in 0..2 {
        let response = stream::handle_batch(&state, event.clone()).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let found = app.search("q=kalamata%20olives").await;
    let found = found.assert_ok(StatusCode::OK);
    assert_eq!(ids(found), vec![product.id.clone()]);
    // Also by its category's name ("vegetables" here).
    let found = app.search("q=vegetable").await;
    assert_eq!(
        names(found.assert_ok(StatusCode::OK)),
        vec!["Kalamata Olives"]
    );
}

#[tokio::test]
async fn a_stock_adjustment_retried_with_its_idempotency_key_moves_stock_once() {
    let (app, _admin, seller, category, org) = shop().await;
    let mut body = product_body(&org, "IDEM-1", &category, "Leeks", 150);
    body["stock"] = json!(10);
    let id = app
        .create_product(&seller, &body)
        .await
        .assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = app.adjust_stock_once(&seller, &id, -3, "restock-42").await;
    let first_data = first.assert_ok(StatusCode::OK).clone();
    assert_eq!(first_data["available"], 7, "{first_data}");
    assert!(!first.headers.contains_key("idempotent-replayed"));

    let attempts =
        join_all((0..5).map(|_| app.adjust_stock_once(&seller, &id, -3, "restock-42"))).await;
    for again in &attempts {
        assert_eq!(again.assert_ok(StatusCode::OK), &first_data);
        assert_eq!(again.headers["idempotent-replayed"], "true");
    }
    let product = app
        .call(
            axum::http::Method::GET,
            &format!("/v1/products/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        product.body["data"]["stock"]["available"], 7,
        "stock moved once"
    );

    // The same key for another request is refused; a new key works.
    app.adjust_stock_once(&seller, &id, -1, "restock-42")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.adjust_stock_once(&seller, &id, -1, "restock-43")
        .await
        .assert_ok(StatusCode::OK);
    // A refused adjustment gives its key back: the retry runs again.
    app.adjust_stock_once(&seller, &id, -100, "too-many")
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.adjust_stock(&seller, &id, 100)
        .await
        .assert_ok(StatusCode::OK);
    app.adjust_stock_once(&seller, &id, -100, "too-many")
        .await
        .assert_ok(StatusCode::OK);
    app.adjust_stock_once(&seller, &id, -1, &"x".repeat(300))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

#[tokio::test]
async fn another_context_publishes_a_made_to_order_product_under_the_catalogs_rules() {
    let (app, _admin, seller, category, org) = shop().await;
    let product = app
        .publish_product(made_to_order_product(
            &org,
            "DESIGN-SUNDRESS",
            &category,
            "Poppy sundress",
            5900,
        ))
        .await
        .expect("the product is created");
    assert!(product.made_to_order);

    let got = app.get_product(&product.id).await;
    let data = got.assert_ok(StatusCode::OK);
    assert_eq!(data["madeToOrder"], true, "{data}");
    assert_eq!(
        data["source"],
        json!({"kind": "design", "id": "design-DESIGN-SUNDRESS"})
    );
    assert_eq!(
        data["images"],
        json!(["https://cdn.bodega.test/designs/DESIGN-SUNDRESS/print.png"])
    );
    assert_eq!(data["stock"], json!({"available": 0, "reserved": 0}));
    assert_eq!(data["sellerOrgId"], org.as_str());
    assert_eq!(searched(&app, "poppy").await, vec!["Poppy sundress"]);

    // The SKU is unique across both ways of creating a product.
    let taken = app
        .publish_product(made_to_order_product(
            &org,
            "DESIGN-SUNDRESS",
            &category,
            "Another",
            100,
        ))
        .await
        .unwrap_err();
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert!(taken.fields().contains_key("sku"), "{:?}", taken.fields());
    // A creator answered 409 finds who holds the SKU.
    let holder = shared::catalog::product_by_sku(&app.services.store, "DESIGN-SUNDRESS")
        .await
        .unwrap()
        .expect("the SKU's product");
    assert_eq!(holder.id, product.id);
    assert_eq!(holder.source, product.source);
    assert!(
        shared::catalog::product_by_sku(&app.services.store, "NOBODY-HAS-IT")
            .await
            .unwrap()
            .is_none()
    );
    app.create_product(
        &seller,
        &product_body(&org, "DESIGN-SUNDRESS", &category, "Stocked", 100),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Invalid fields are all named; a missing category is refused.
    let mut bad = made_to_order_product(&org, "no spaces allowed", &category, "", -1);
    bad.fields.images = Some(vec!["not a url".into()]);
    let invalid = app.publish_product(bad).await.unwrap_err();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["sku", "name", "price.amount", "images"] {
        assert!(
            invalid.fields().contains_key(field),
            "{field} missing in {:?}",
            invalid.fields()
        );
    }
    let nowhere = app
        .publish_product(made_to_order_product(
            &org,
            "DESIGN-NOWHERE",
            "no-such-category",
            "Nowhere",
            100,
        ))
        .await
        .unwrap_err();
    assert!(
        nowhere.fields().contains_key("categoryId"),
        "{:?}",
        nowhere.fields()
    );
    assert_eq!(
        app.get_product(&product.id).await.body["data"]["name"],
        "Poppy sundress"
    );

    // A made-to-order product counts no stock.
    app.adjust_stock(&seller, &product.id, 5)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Its seller edits it under the same image rule it was created with:
    // long URLs stay valid, new ones need no upload, spaces do not pass.
    let long_url = format!("https://cdn.bodega.test/{}.png", "p".repeat(300));
    let mut long = made_to_order_product(&org, "DESIGN-LONG", &category, "Long", 100);
    long.fields.images = Some(vec![long_url.clone()]);
    let long = app.publish_product(long).await.expect("created");
    let renamed = app
        .update_product(&seller, &long.id, None, &json!({"name": "Longer"}))
        .await;
    assert_eq!(
        renamed.assert_ok(StatusCode::OK)["images"],
        json!([long_url])
    );
    let other_url = "https://cdn.bodega.test/designs/other.png";
    app.update_product(&seller, &long.id, None, &json!({"images": [other_url]}))
        .await
        .assert_ok(StatusCode::OK);
    app.update_product(&seller, &long.id, None, &json!({"images": ["a b.png"]}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}
