//! Publishing a design: a made-to-order catalog product created under
//! catalog's rules, found by search; what may not be published and by whom.

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, design_body, publish_body, spawn_app, unique_email};
use serde_json::{Value, json};
use shared::store::Value as Attr;

struct Seller {
    token: String,
    org: String,
    category: String,
}

/// A designer who owns a seller org, with a catalog category to list in.
async fn seller(app: &TestApp) -> Seller {
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let category = app.category(&admin, "apparel").await;
    let token = app.signed_in_as(&unique_email("designer")).await;
    let org = app.new_org(&token, "seller").await;
    Seller {
        token,
        org,
        category,
    }
}

fn id_of(value: &Value, field: &str) -> String {
    value[field].as_str().expect(field).to_owned()
}

#[tokio::test]
async fn a_published_design_is_a_made_to_order_product_in_the_catalog_and_search() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let design = app
        .ready_design(&s.token, &design_body("Poppy field"))
        .await;
    let design_id = id_of(&design, "id");

    let body = publish_body(&s.org, &s.category);
    let published = app
        .publish_design(&s.token, &design_id, &body, Some("publish-1"))
        .await;
    let data = published.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(data["garment"], "tshirt");
    assert_eq!(data["madeToOrder"], true);
    assert_eq!(data["designId"], design_id.as_str());
    let product_id = id_of(&data, "productId");

    // The catalog shows it, made to order, with the design's images.
    let product = app.get_product(&product_id).await;
    let product = product.assert_ok(StatusCode::OK);
    assert_eq!(product["name"], "Poppy field");
    assert_eq!(product["madeToOrder"], true);
    assert_eq!(product["sellerOrgId"], s.org.as_str());
    assert_eq!(product["price"]["amount"], 2900);
    assert_eq!(
        product["images"],
        json!([design["image"]["url"], design["image"]["thumbnailUrl"]])
    );
    assert_eq!(product["sku"], format!("DSN-{design_id}-TSHIRT").as_str());

    // The stream indexes it like any product.
    app.drain_stream().await;
    let found = app.search("q=poppy").await;
    let found = found.assert_ok(StatusCode::OK);
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|hit| hit["id"] == product_id.as_str()),
        "{found}"
    );

    // The same key replays the first answer; publishing again without it
    // answers the existing product; a hoodie is another product.
    let replay = app
        .publish_design(&s.token, &design_id, &body, Some("publish-1"))
        .await;
    assert_eq!(
        replay.assert_ok(StatusCode::OK)["productId"],
        product_id.as_str()
    );
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let again = app.publish_design(&s.token, &design_id, &body, None).await;
    assert_eq!(
        again.assert_ok(StatusCode::OK)["productId"],
        product_id.as_str()
    );
    let mut long_sleeve = body.clone();
    long_sleeve["garment"] = json!("long-sleeve");
    let other = app
        .publish_design(&s.token, &design_id, &long_sleeve, None)
        .await;
    assert_ne!(
        other.assert_ok(StatusCode::CREATED)["productId"],
        product_id.as_str()
    );
}

#[tokio::test]
async fn only_a_ready_design_of_the_caller_is_published_by_a_member_who_may_write_products() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let body = publish_body(&s.org, &s.category);

    // Still generating: 409. Failed: 422.
    let created = app.create_design(&s.token, &design_body("Waiting")).await;
    let waiting = id_of(created.assert_ok(StatusCode::ACCEPTED), "id");
    app.publish_design(&s.token, &waiting, &body, None)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.set_stored_attribute(
        &format!("DESIGN#{waiting}"),
        "DESIGN",
        "status",
        Attr::S("failed".into()),
    )
    .await;
    let failed = app.publish_design(&s.token, &waiting, &body, None).await;
    failed.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // Another user's private design does not exist for the caller; a
    // public one is not theirs to sell.
    let other = app.signed_in_as(&unique_email("other")).await;
    let mut private = design_body("Private");
    private["isPublic"] = json!(false);
    let private = id_of(&app.ready_design(&other, &private).await, "id");
    app.publish_design(&s.token, &private, &body, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let public = id_of(
        &app.ready_design(&other, &design_body("Public")).await,
        "id",
    );
    app.publish_design(&s.token, &public, &body, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // A member without product:write: 403; not a member at all: 404.
    let viewer_email = unique_email("viewer");
    let (viewer, _) = app
        .joins_org(&s.token, &s.org, &viewer_email, "member", &["viewer"])
        .await;
    let own = id_of(&app.ready_design(&viewer, &design_body("Mine")).await, "id");
    app.publish_design(&viewer, &own, &body, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.publish_design(&other, &public, &body, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Catalog's rules hold: an unknown category is 422 on categoryId.
    let mine = id_of(
        &app.ready_design(&s.token, &design_body("Mine too")).await,
        "id",
    );
    let mut unknown = body.clone();
    unknown["categoryId"] = json!("no-such-category");
    let refused = app.publish_design(&s.token, &mine, &unknown, None).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body["error"]["fields"]["categoryId"].is_array(),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn an_image_too_small_for_the_print_area_is_refused() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let design = app
        .ready_design(&s.token, &design_body("Small print"))
        .await;
    let design_id = id_of(&design, "id");

    // 1800×2400 prints a hoodie's 15×12 in area at 120 DPI only.
    let mut hoodie = publish_body(&s.org, &s.category);
    hoodie["garment"] = json!("hoodie");
    let refused = app
        .publish_design(&s.token, &design_id, &hoodie, None)
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let message = refused.body["error"]["fields"]["garment"][0]
        .as_str()
        .unwrap();
    assert!(message.contains("150 DPI"), "{message}");
    assert_eq!(refused.body["error"]["details"]["requiredWidth"], 2250);

    // Nothing was created.
    app.drain_stream().await;
    let listed = app.list_products(&format!("sellerOrgId={}", s.org)).await;
    assert_eq!(listed.assert_ok(StatusCode::OK), &json!([]));
}

#[tokio::test]
async fn an_owner_grants_an_organization_the_right_to_publish_a_private_design_and_takes_it_back() {
    let app = spawn_app().await;
    // A designer with a private design, and a seller org she is not in.
    let designer = app.signed_in_as(&unique_email("designer")).await;
    let mut private = design_body("Licensed");
    private["isPublic"] = json!(false);
    let design_id = id_of(&app.ready_design(&designer, &private).await, "id");
    let s = seller(&app).await;
    let body = publish_body(&s.org, &s.category);
    let grants = format!("/v1/designs/{design_id}/grants");
    let grant = format!("{grants}/{}", s.org);

    // Without a grant the seller cannot see it; nor grant it to itself.
    app.publish_design(&s.token, &design_id, &body, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.call(Method::PUT, &grant, Some(&s.token), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.call(Method::GET, &grants, Some(&s.token), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    // An organization that does not exist cannot be granted.
    app.call(
        Method::PUT,
        &format!("{grants}/01JDZZNOSUCHORG00000000000"),
        Some(&designer),
        None,
    )
    .await
    .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Granted (once, however often sent), listed, audited on both sides.
    let first = app.call(Method::PUT, &grant, Some(&designer), None).await;
    assert_eq!(
        first.assert_ok(StatusCode::CREATED)["orgId"],
        s.org.as_str()
    );
    let again = app.call(Method::PUT, &grant, Some(&designer), None).await;
    assert_eq!(
        again.assert_ok(StatusCode::OK)["grantedAt"],
        first.body["data"]["grantedAt"]
    );
    let listed = app.call(Method::GET, &grants, Some(&designer), None).await;
    let listed = listed.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["orgId"], s.org.as_str());
    let trail = app.org_audit(&s.token, &s.org, "").await;
    let trail = trail.assert_ok(StatusCode::OK).to_string();
    assert!(trail.contains("studio.design_granted"), "{trail}");

    // Now a member with product:write publishes it; one without cannot.
    let viewer_email = unique_email("viewer");
    let (viewer, _) = app
        .joins_org(&s.token, &s.org, &viewer_email, "member", &["viewer"])
        .await;
    app.publish_design(&viewer, &design_id, &body, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let published = app.publish_design(&s.token, &design_id, &body, None).await;
    let product_id = id_of(published.assert_ok(StatusCode::CREATED), "productId");
    // The grant is for that org only: publishing for another org of the
    // same member is refused.
    let other_org = app.new_org(&s.token, "seller").await;
    let elsewhere = publish_body(&other_org, &s.category);
    app.publish_design(&s.token, &design_id, &elsewhere, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // Taken back: no new publication, the product stays; taking it back
    // twice is harmless.
    let revoked = app
        .call(Method::DELETE, &grant, Some(&designer), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let revoked = app
        .call(Method::DELETE, &grant, Some(&designer), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let mut hoodie = body.clone();
    hoodie["garment"] = json!("long-sleeve");
    app.publish_design(&s.token, &design_id, &hoodie, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get_product(&product_id).await.assert_ok(StatusCode::OK);
    let listed = app.call(Method::GET, &grants, Some(&designer), None).await;
    assert_eq!(listed.assert_ok(StatusCode::OK), &json!([]));
    let trail = app.org_audit(&s.token, &s.org, "").await;
    let trail = trail.assert_ok(StatusCode::OK).to_string();
    assert!(trail.contains("studio.design_grant_revoked"), "{trail}");
}

#[tokio::test]
async fn a_design_held_for_review_is_not_published() {
    let app = spawn_app().await;
    let s = seller(&app).await;
    let design_id = id_of(
        &app.ready_design(&s.token, &design_body("Held")).await,
        "id",
    );
    app.set_stored_attribute(
        &format!("DESIGN#{design_id}"),
        "DESIGN",
        "heldAt",
        Attr::S("2026-11-27T00:00:00Z".into()),
    )
    .await;
    let refused = app
        .publish_design(
            &s.token,
            &design_id,
            &publish_body(&s.org, &s.category),
            None,
        )
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body["error"]["fields"]["designId"][0]
            .as_str()
            .unwrap()
            .contains("held for review"),
        "{}",
        refused.body
    );
}
