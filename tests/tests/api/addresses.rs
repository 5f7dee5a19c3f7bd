//! Address books (a person's and an organization's) and checkout with a
//! saved address, against DynamoDB Local: the defaults, the cap, ETags,
//! validation, tenant isolation, permissions, audit and account erasure.

use axum::http::StatusCode;
use bodega_tests::{
    MY_ADDRESSES, TestApp, address_body, org_addresses, product_body, spawn_app, unique_email,
};
use serde_json::{Value, json};

fn id(entry: &Value) -> String {
    entry["id"].as_str().expect("an address id").to_owned()
}

/// The book's entries as (name, defaultShipping, defaultBilling), oldest first.
async fn defaults(app: &TestApp, token: &str, book: &str) -> Vec<(String, bool, bool)> {
    let listed = app.addresses(token, book).await;
    listed
        .assert_ok(StatusCode::OK)
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            (
                e["address"]["name"].as_str().unwrap().to_owned(),
                e["defaultShipping"].as_bool().unwrap(),
                e["defaultBilling"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn row(name: &str, shipping: bool, billing: bool) -> (String, bool, bool) {
    (name.to_owned(), shipping, billing)
}

#[tokio::test]
async fn a_person_keeps_addresses_and_the_defaults_move_between_them() {
    let app = spawn_app().await;
    let token = app.signed_in_as(&unique_email("ada")).await;
    assert_eq!(
        app.addresses(&token, MY_ADDRESSES)
            .await
            .assert_ok(StatusCode::OK),
        &json!([])
    );

    // The first entry becomes both defaults, even when asked otherwise.
    let body =
        json!({ "label": "Home", "address": address_body("Home"), "defaultShipping": false });
    let added = app.add_address(&token, MY_ADDRESSES, &body).await;
    assert_eq!(added.headers["etag"], "\"1\"");
    let home = added.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(home["label"], "Home");
    assert_eq!(home["address"]["country"], "DE");
    assert_eq!(
        (
            home["defaultShipping"].as_bool(),
            home["defaultBilling"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let office = app.new_address(&token, MY_ADDRESSES, "Office").await;
    assert_eq!(
        defaults(&app, &token, MY_ADDRESSES).await,
        [row("Home", true, true), row("Office", false, false)]
    );

    // Making another the default clears the old one.
    let changed = app
        .update_address(
            &token,
            MY_ADDRESSES,
            &id(&office),
            &json!({ "defaultShipping": true }),
            Some("\"1\""),
        )
        .await;
    assert_eq!(changed.headers["etag"], "\"2\"");
    assert_eq!(changed.assert_ok(StatusCode::OK)["defaultShipping"], true);
    assert_eq!(
        defaults(&app, &token, MY_ADDRESSES).await,
        [row("Home", false, true), row("Office", true, false)]
    );

    // A default is not unset alone.
    let refused = app
        .update_address(
            &token,
            MY_ADDRESSES,
            &id(&home),
            &json!({ "defaultBilling": false }),
            None,
        )
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body["error"]["fields"]["defaultBilling"].is_array(),
        "{}",
        refused.body
    );
    assert!(
        refused.body["error"]["fields"]
            .get("defaultShipping")
            .is_none(),
        "{}",
        refused.body
    );
    // Unsetting what an entry is not is no change.
    app.update_address(
        &token,
        MY_ADDRESSES,
        &id(&home),
        &json!({ "defaultShipping": false }),
        None,
    )
    .await
    .assert_ok(StatusCode::OK);

    // The label and the whole address change; an empty label removes it.
    let mut moved = address_body("Home");
    moved["city"] = json!("Hamburg");
    moved["postalCode"] = json!("20095");
    let edited = app
        .update_address(
            &token,
            MY_ADDRESSES,
            &id(&home),
            &json!({ "label": "", "address": moved }),
            None,
        )
        .await;
    let edited = edited.assert_ok(StatusCode::OK);
    assert_eq!(edited["address"]["city"], "Hamburg");
    assert!(edited.get("label").is_none(), "{edited}");
    assert_eq!(edited["defaultBilling"], true);

    // Removing a default passes it to the newest remaining entry.
    let depot = app.new_address(&token, MY_ADDRESSES, "Depot").await;
    let removed = app
        .remove_address(&token, MY_ADDRESSES, &id(&office), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        defaults(&app, &token, MY_ADDRESSES).await,
        [row("Home", false, true), row("Depot", true, false)]
    );
    let removed = app
        .remove_address(&token, MY_ADDRESSES, &id(&home), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        defaults(&app, &token, MY_ADDRESSES).await,
        [row("Depot", true, true)]
    );
    app.remove_address(&token, MY_ADDRESSES, &id(&home), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Emptied, the book starts over: the next entry is the default again.
    let removed = app
        .remove_address(&token, MY_ADDRESSES, &id(&depot), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let again = app.new_address(&token, MY_ADDRESSES, "Again").await;
    assert_eq!(
        (
            again["defaultShipping"].as_bool(),
            again["defaultBilling"].as_bool()
        ),
        (Some(true), Some(true))
    );
}

#[tokio::test]
async fn a_book_holds_twenty_entries() {
    let app = spawn_app().await;
    let token = app.signed_in_as(&unique_email("ada")).await;
    let mut first = None;
    for n in 0..20 {
        let entry = app
            .new_address(&token, MY_ADDRESSES, &format!("Entry {n}"))
            .await;
        first.get_or_insert(entry);
    }
    let body = json!({ "address": address_body("One too many") });
    app.add_address(&token, MY_ADDRESSES, &body)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let removed = app
        .remove_address(&token, MY_ADDRESSES, &id(&first.unwrap()), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    app.add_address(&token, MY_ADDRESSES, &body)
        .await
        .assert_ok(StatusCode::CREATED);
    let listed = app.addresses(&token, MY_ADDRESSES).await;
    assert_eq!(
        listed.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        20
    );
}

#[tokio::test]
async fn stale_etags_bad_fields_and_other_peoples_entries_are_refused() {
    let app = spawn_app().await;
    let token = app.signed_in_as(&unique_email("ada")).await;
    let home = app.new_address(&token, MY_ADDRESSES, "Home").await;
    app.update_address(
        &token,
        MY_ADDRESSES,
        &id(&home),
        &json!({ "label": "Home" }),
        Some("\"1\""),
    )
    .await
    .assert_ok(StatusCode::OK);

    // The ETag the entry had before that change is stale now.
    app.update_address(
        &token,
        MY_ADDRESSES,
        &id(&home),
        &json!({ "label": "Flat" }),
        Some("\"1\""),
    )
    .await
    .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    app.remove_address(&token, MY_ADDRESSES, &id(&home), Some("\"1\""))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");

    // Every bad field is named with its path, by checkout's own validation.
    let mut bad = address_body("Home");
    bad["postalCode"] = json!("10115<b>");
    bad["country"] = json!("XX");
    bad["city"] = json!(" ");
    let refused = app
        .add_address(
            &token,
            MY_ADDRESSES,
            &json!({ "address": bad, "label": "x".repeat(51) }),
        )
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &refused.body["error"]["fields"];
    for field in [
        "address.postalCode",
        "address.country",
        "address.city",
        "label",
    ] {
        assert!(fields[field].is_array(), "{field} missing: {fields}");
    }
    let refused = app
        .add_address(&token, MY_ADDRESSES, &json!({ "label": "Home" }))
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body["error"]["fields"]["address"].is_array(),
        "{}",
        refused.body
    );
    let refused = app
        .update_address(
            &token,
            MY_ADDRESSES,
            &id(&home),
            &json!({ "address": { "name": "Only a name" } }),
            None,
        )
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body["error"]["fields"]["address.line1"].is_array(),
        "{}",
        refused.body
    );

    // Another person's entry is not there for anyone else.
    let eve = app.signed_in_as(&unique_email("eve")).await;
    app.update_address(
        &eve,
        MY_ADDRESSES,
        &id(&home),
        &json!({ "label": "Mine" }),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.remove_address(&eve, MY_ADDRESSES, &id(&home), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.remove_address(&eve, MY_ADDRESSES, &"x".repeat(2000), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        app.addresses(&eve, MY_ADDRESSES)
            .await
            .assert_ok(StatusCode::OK),
        &json!([])
    );
    assert_eq!(
        defaults(&app, &token, MY_ADDRESSES).await,
        [row("Home", true, true)]
    );
}

#[tokio::test]
async fn erasing_the_account_erases_the_address_book() {
    let app = spawn_app().await;
    let token = app.signed_in_as(&unique_email("ada")).await;
    let user = app.user_id(&token).await;
    let home = app.new_address(&token, MY_ADDRESSES, "Home").await;
    let office = app.new_address(&token, MY_ADDRESSES, "Office").await;
    let pk = format!("USER#{user}");
    assert!(app.stored_item(&pk, "ADDRESSBOOK").await.is_some());

    app.delete_me(&token, bodega_tests::PASSWORD)
        .await
        .assert_ok(StatusCode::OK);
    for entry in [&home, &office] {
        let sk = format!("ADDRESS#{}", id(entry));
        assert!(app.stored_item(&pk, &sk).await.is_none(), "{sk} survived");
    }
    assert!(app.stored_item(&pk, "ADDRESSBOOK").await.is_none());
}

#[tokio::test]
async fn an_org_book_is_read_by_buyers_changed_by_managers_and_audited() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("owner")).await;
    let org = app.new_org(&owner, "buyer").await;
    let book = org_addresses(&org);
    let (buyer, _) = app
        .joins_org(&owner, &org, &unique_email("buyer"), "member", &["buyer"])
        .await;
    let (manager, _) = app
        .joins_org(&owner, &org, &unique_email("manager"), "admin", &[])
        .await;
    let (viewer, _) = app
        .joins_org(&owner, &org, &unique_email("viewer"), "member", &["viewer"])
        .await;
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    app.new_org(&stranger, "buyer").await;

    let dock = app.new_address(&manager, &book, "Loading dock").await;
    let body = json!({ "address": address_body("Back door") });

    // A buyer reads the book to use it, and changes nothing.
    assert_eq!(
        defaults(&app, &buyer, &book).await,
        [row("Loading dock", true, true)]
    );
    app.add_address(&buyer, &book, &body)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.update_address(&buyer, &book, &id(&dock), &json!({ "label": "Mine" }), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.remove_address(&buyer, &book, &id(&dock), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // A member with neither permission does not even read it.
    app.addresses(&viewer, &book)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Another organization's member finds nothing.
    app.addresses(&stranger, &book)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.add_address(&stranger, &book, &body)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.remove_address(&stranger, &book, &id(&dock), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    // The org's entry is not in anyone's own book either.
    app.remove_address(&manager, MY_ADDRESSES, &id(&dock), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Managers change it; every change is in the org's audit trail.
    let back = app.new_address(&owner, &book, "Back door").await;
    app.update_address(
        &manager,
        &book,
        &id(&back),
        &json!({ "defaultShipping": true }),
        None,
    )
    .await
    .assert_ok(StatusCode::OK);
    let removed = app.remove_address(&owner, &book, &id(&dock), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(
        defaults(&app, &buyer, &book).await,
        [row("Back door", true, true)]
    );

    let audit = app.org_audit(&owner, &org, "?limit=100").await;
    let entries: Vec<(String, String)> = audit
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("address."))
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let target = |entry: &Value| format!("address:{}", id(entry));
    assert_eq!(
        entries,
        [
            ("address.removed".to_owned(), target(&dock)),
            ("address.changed".to_owned(), target(&back)),
            ("address.added".to_owned(), target(&back)),
            ("address.added".to_owned(), target(&dock)),
        ]
    );
}

/// A seller's product with stock, in a fresh shop; returns its id.
async fn product_for_sale(app: &TestApp) -> String {
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let seller = app.signed_in_as(&unique_email("seller")).await;
    let seller_org = app.new_org(&seller, "seller").await;
    let category = app.category(&admin, "vegetables").await;
    let mut body = product_body(&seller_org, "TOM-1", &category, "Tomatoes", 250);
    body["stock"] = json!(100);
    app.new_product(&seller, &body).await
}

/// Checks out the cart of `token` (for `org`, if any) by card with `body`'s
/// addresses.
async fn checkout_with(
    app: &TestApp,
    token: &str,
    org: Option<&str>,
    product: &str,
    addresses: Value,
) -> bodega_tests::TestResponse {
    app.add_to_cart(token, org, product, 1)
        .await
        .assert_ok(StatusCode::OK);
    let mut body = json!({ "paymentMethod": "card" });
    body.as_object_mut()
        .unwrap()
        .extend(addresses.as_object().unwrap().clone());
    let key = ulid::Ulid::new().to_string();
    app.checkout(token, org, Some(&key), &body).await
}

#[tokio::test]
async fn checkout_copies_a_saved_address_into_the_order() {
    let app = spawn_app().await;
    let product = product_for_sale(&app).await;
    let token = app.signed_in_as(&unique_email("ada")).await;
    let home = app.new_address(&token, MY_ADDRESSES, "Ada at home").await;
    let office = app.new_address(&token, MY_ADDRESSES, "Ada at work").await;

    let placed = checkout_with(
        &app,
        &token,
        None,
        &product,
        json!({ "shippingAddressId": id(&home), "billingAddressId": id(&office) }),
    )
    .await;
    let order = placed.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(order["shippingAddress"], home["address"], "{order}");
    assert_eq!(order["billingAddress"], office["address"], "{order}");

    // The book changes; the order keeps the address it was placed with.
    let mut moved = address_body("Ada elsewhere");
    moved["city"] = json!("Hamburg");
    app.update_address(
        &token,
        MY_ADDRESSES,
        &id(&home),
        &json!({ "address": moved }),
        None,
    )
    .await
    .assert_ok(StatusCode::OK);
    let removed = app
        .remove_address(&token, MY_ADDRESSES, &id(&office), None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    let order_id = order["id"].as_str().unwrap();
    let kept = app.order(&token, order_id).await;
    let kept = kept.assert_ok(StatusCode::OK);
    assert_eq!(kept["shippingAddress"]["name"], "Ada at home");
    assert_eq!(kept["shippingAddress"]["city"], "Berlin");
    assert_eq!(kept["billingAddress"]["name"], "Ada at work");

    // The billing address defaults to the saved shipping address.
    let placed = checkout_with(
        &app,
        &token,
        None,
        &product,
        json!({ "shippingAddressId": id(&home) }),
    )
    .await;
    let order = placed.assert_ok(StatusCode::CREATED);
    assert_eq!(order["billingAddress"]["city"], "Hamburg", "{order}");
}

#[tokio::test]
async fn checkout_refuses_addresses_of_other_books_and_both_forms_at_once() {
    let app = spawn_app().await;
    let product = product_for_sale(&app).await;
    let ada = app.signed_in_as(&unique_email("ada")).await;
    let eve = app.signed_in_as(&unique_email("eve")).await;
    let adas = app.new_address(&ada, MY_ADDRESSES, "Ada").await;
    let eves = app.new_address(&eve, MY_ADDRESSES, "Eve").await;

    // Another person's saved address is not found, nor is a made-up one.
    for addresses in [
        json!({ "shippingAddressId": id(&adas) }),
        json!({ "shippingAddressId": id(&eves), "billingAddressId": id(&adas) }),
        json!({ "shippingAddressId": "01JDC0NOSUCHADDRESS0000000" }),
    ] {
        checkout_with(&app, &eve, None, &product, addresses)
            .await
            .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    // An address and its id together are a 422 naming the id.
    let both = checkout_with(
        &app,
        &eve,
        None,
        &product,
        json!({ "shippingAddressId": id(&eves), "shippingAddress": address_body("Eve") }),
    )
    .await;
    both.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        both.body["error"]["fields"]["shippingAddressId"].is_array(),
        "{}",
        both.body
    );

    // Buying for an organization names the organization's book, not one's own.
    let org = app.new_org(&ada, "buyer").await;
    let dock = app
        .new_address(&ada, &org_addresses(&org), "Loading dock")
        .await;
    checkout_with(
        &app,
        &ada,
        Some(&org),
        &product,
        json!({ "shippingAddressId": id(&adas) }),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    checkout_with(
        &app,
        &ada,
        None,
        &product,
        json!({ "shippingAddressId": id(&dock) }),
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let placed = checkout_with(
        &app,
        &ada,
        Some(&org),
        &product,
        json!({ "shippingAddressId": id(&dock) }),
    )
    .await;
    let order = placed.assert_ok(StatusCode::CREATED);
    assert_eq!(order["shippingAddress"]["name"], "Loading dock", "{order}");
    // Nobody else's order was placed meanwhile: Eve's cart is still full.
    let cart = app.cart(&eve, None).await;
    assert_eq!(
        cart.assert_ok(StatusCode::OK)["lines"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
