//! Moderation journeys: reports, the queue, moderators hiding and
//! restoring reviews, and the role's grant and revocation.

use axum::http::StatusCode;
use bodega_tests::{TestApp, product_body, spawn_app, unique_email};
use serde_json::{Value, json};

/// An app with a platform admin and a product for sale:
/// (app, admin token, seller token, product id).
async fn shop() -> (TestApp, String, String, String) {
    let app = spawn_app().await;
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let seller = app.signed_in_as(&unique_email("seller")).await;
    let org = app.new_org(&seller, "seller").await;
    let category = app.category(&admin, "vegetables").await;
    let mut body = product_body(&org, "TOM-1", &category, "Tomatoes", 250);
    body["stock"] = json!(100);
    let product = app.new_product(&seller, &body).await;
    (app, admin, seller, product)
}

/// A new person who reviewed `product` with `rating`: (token, email, user id).
async fn reviewer(app: &TestApp, product: &str, rating: i64) -> (String, String, String) {
    let email = unique_email("reviewer");
    let token = app.signed_in_as(&email).await;
    app.create_review(
        &token,
        product,
        &json!({"rating": rating, "title": "Honest"}),
    )
    .await
    .assert_ok(StatusCode::CREATED);
    let id = app.user_id(&token).await;
    (token, email, id)
}

fn rating(product: &Value) -> (i64, f64) {
    let rating = &product["rating"];
    (
        rating["count"].as_i64().unwrap(),
        rating["average"].as_f64().unwrap_or_default(),
    )
}

/// The queue entries of `product`'s reviews: (author id, report count).
fn queue_of(queue: &Value, product: &str) -> Vec<(String, i64)> {
    queue
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["productId"] == product)
        .map(|e| {
            (
                e["authorId"].as_str().unwrap().to_owned(),
                e["reportCount"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_moderator_hides_a_reported_review_until_the_role_is_revoked() {
    let (app, admin, _seller, product) = shop().await;
    let (_, author_email, author) = reviewer(&app, &product, 1).await;
    let (fan, _, _) = reviewer(&app, &product, 5).await;

    // Anyone signed in reports once; a repeat answers with the first report.
    let reporter = app.signed_in_as(&unique_email("reporter")).await;
    let first = app
        .report_review(
            &reporter,
            &product,
            &author,
            "Spam: <b>links</b> to another shop",
        )
        .await;
    let first = first.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(first["reportCount"], 1, "{first}");
    assert_eq!(first["reason"], "Spam: links to another shop");
    let again = app
        .report_review(&reporter, &product, &author, "Still spam")
        .await;
    let again = again.assert_ok(StatusCode::OK);
    assert_eq!(again["reportCount"], 1, "{again}");
    assert_eq!(again["reason"], "Spam: links to another shop");
    app.report_review(&fan, &product, &author, "Rude")
        .await
        .assert_ok(StatusCode::CREATED);

    // The moderator-to-be: a customer's token is refused at once.
    let moderator_email = unique_email("moderator");
    let customer_token = app.signed_in_as(&moderator_email).await;
    let moderator_id = app.user_id(&customer_token).await;
    app.hide_review(&customer_token, &product, &author)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.moderation_queue(&customer_token, "")
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Only a platform admin grants the role.
    app.grant_moderator(&customer_token, &moderator_id)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let granted = app.grant_moderator(&admin, &moderator_id).await;
    assert_eq!(granted.assert_ok(StatusCode::OK)["role"], "moderator");
    app.grant_moderator(&admin, &moderator_id)
        .await
        .assert_ok(StatusCode::OK);
    let moderator = app.signed_in_as_existing(&moderator_email).await;
    assert_eq!(app.me(&moderator).await.body["data"]["role"], "moderator");

    // The queue shows the review with its two reports.
    let queue = app.moderation_queue(&moderator, "").await;
    let queue = queue.assert_ok(StatusCode::OK);
    assert_eq!(queue_of(queue, &product), vec![(author.clone(), 2)]);
    assert_eq!(queue[0]["status"], "open");
    assert_eq!(queue[0]["lastReason"], "Rude");

    // Hiding takes the review out of the list and the rating.
    assert_eq!(
        rating(&app.get_product(&product).await.body["data"]),
        (2, 3.0)
    );
    app.call(
        axum::http::Method::POST,
        &format!("/v1/products/{product}/reviews/{author}/hide"),
        Some(&moderator),
        Some(&json!({"reason": "   "})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let hidden = app.hide_review(&moderator, &product, &author).await;
    assert_eq!(hidden.assert_ok(StatusCode::OK)["hidden"], true);
    assert_eq!(
        rating(&app.get_product(&product).await.body["data"]),
        (1, 5.0)
    );
    let listed = app.list_reviews(&product, "").await;
    assert_eq!(
        listed.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );
    let queue = app.moderation_queue(&moderator, "").await;
    assert!(queue_of(queue.assert_ok(StatusCode::OK), &product).is_empty());
    // A hidden review cannot be reported.
    app.report_review(&moderator, &product, &author, "More")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // The reason is in the author's trail, and the author is emailed.
    let author_token = app.signed_in_as_existing(&author_email).await;
    let trail = app.my_audit(&author_token, None).await;
    let trail = trail.assert_ok(StatusCode::OK);
    let event = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "content.hidden")
        .expect("the hide is in the author's trail");
    assert_eq!(event["details"]["reason"], "Breaks the review rules");
    assert_eq!(event["actor"], format!("user:{moderator_id}"));
    app.drain_stream().await;
    let email = app
        .only_email_to(&author_email, "A moderator hid your review")
        .await;
    assert!(email.body.contains("Breaks the review rules"), "{email:?}");

    // Restoring puts it back in the list and the rating.
    let restored = app.restore_review(&moderator, &product, &author).await;
    assert_eq!(restored.assert_ok(StatusCode::OK)["hidden"], false);
    assert_eq!(
        rating(&app.get_product(&product).await.body["data"]),
        (2, 3.0)
    );

    // Nothing else: no orders, payments, categories or organizations.
    let buyer = app.signed_in_as(&unique_email("buyer")).await;
    let order = app.buy(&buyer, &product, 1).await;
    let order_id = order["id"].as_str().unwrap();
    app.refund_order(&moderator, order_id)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.admin_orders(&moderator, "")
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.create_category(&moderator, &json!({"slug": "fruit", "name": "Fruit"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.grant_moderator(&moderator, &author)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // Revoked: the same token (it still says moderator) loses the power.
    let revoked = app.revoke_moderator(&admin, &moderator_id).await;
    assert_eq!(revoked.assert_ok(StatusCode::OK)["role"], "customer");
    app.hide_review(&moderator, &product, &author)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.restore_review(&moderator, &product, &author)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.moderation_queue(&moderator, "")
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    assert_eq!(
        rating(&app.get_product(&product).await.body["data"]),
        (2, 3.0)
    );

    // Both changes of role are in the person's own trail.
    let actions: Vec<Value> = app.my_audit(&moderator, None).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert!(
        actions.contains(&json!("platform_role.granted")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&json!("platform_role.revoked")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn reports_and_role_changes_refuse_what_does_not_fit() {
    let (app, admin, _seller, product) = shop().await;
    let (author_token, _, author) = reviewer(&app, &product, 4).await;
    let reporter = app.signed_in_as(&unique_email("reporter")).await;

    // Nobody reports their own review; a reason must say something.
    app.report_review(&author_token, &product, &author, "Mine")
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let blank = app
        .report_review(&reporter, &product, &author, "<i></i>")
        .await;
    blank.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(blank.body["error"]["fields"]["reason"].is_array());
    let long = "x".repeat(501);
    app.report_review(&reporter, &product, &author, &long)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.call(
        axum::http::Method::POST,
        &format!("/v1/products/{product}/reviews/{author}/reports"),
        Some(&reporter),
        Some(&json!({"reason": 7})),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.report_review(&reporter, &product, "nobody", "Spam")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.report_review(&reporter, "nope", &author, "Spam")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    // Signed out: 401.
    let anonymous = app
        .call(
            axum::http::Method::POST,
            &format!("/v1/products/{product}/reviews/{author}/reports"),
            None,
            Some(&json!({"reason": "Spam"})),
        )
        .await;
    anonymous.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");

    // Roles: unknown people are 404, admins keep their role (409).
    app.grant_moderator(&admin, "01JDNOSUCHUSER000000000000")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let admin_id = app.user_id(&admin).await;
    app.grant_moderator(&admin, &admin_id)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.revoke_moderator(&admin, &admin_id)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    // Revoking from a customer changes nothing and says so.
    let revoked = app.revoke_moderator(&admin, &author).await;
    assert_eq!(revoked.assert_ok(StatusCode::OK)["role"], "customer");
    // Admins moderate too.
    app.report_review(&reporter, &product, &author, "Spam")
        .await
        .assert_ok(StatusCode::CREATED);
    app.moderation_queue(&admin, "?cursor=forged")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    let hidden = app.hide_review(&admin, &product, &author).await;
    assert_eq!(hidden.assert_ok(StatusCode::OK)["hidden"], true);
    app.hide_review(&admin, &product, "nobody")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn the_queue_puts_the_most_reported_first() {
    let (app, admin, _seller, product) = shop().await;
    let mut authors = Vec::new();
    for _ in 0..3 {
        authors.push(reviewer(&app, &product, 3).await.2);
    }
    let mut reporters = Vec::new();
    for _ in 0..3 {
        reporters.push(app.signed_in_as(&unique_email("reporter")).await);
    }
    // Reports: the first review once, the second three times, the third twice.
    for (author, times) in authors.iter().zip([1usize, 3, 2]) {
        for reporter in reporters.iter().take(times) {
            app.report_review(reporter, &product, author, "Off topic")
                .await
                .assert_ok(StatusCode::CREATED);
        }
    }
    let queue = app.moderation_queue(&admin, "").await;
    assert_eq!(
        queue_of(queue.assert_ok(StatusCode::OK), &product),
        vec![
            (authors[1].clone(), 3),
            (authors[2].clone(), 2),
            (authors[0].clone(), 1),
        ]
    );
    // Paginated with the cursor it hands out.
    let first = app.moderation_queue(&admin, "?limit=2").await;
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    assert_eq!(first.assert_ok(StatusCode::OK).as_array().unwrap().len(), 2);
    let rest = app
        .moderation_queue(&admin, &format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(
        queue_of(rest.assert_ok(StatusCode::OK), &product),
        vec![(authors[0].clone(), 1)]
    );
    // Keeping a reported review (restore of a visible one) clears it.
    app.restore_review(&admin, &product, &authors[1])
        .await
        .assert_ok(StatusCode::OK);
    let queue = app.moderation_queue(&admin, "").await;
    assert_eq!(
        queue_of(queue.assert_ok(StatusCode::OK), &product),
        vec![(authors[2].clone(), 2), (authors[0].clone(), 1)]
    );
}

/// `POST /v1/designs/{id}/{action}` with `body`.
async fn design_action(
    app: &TestApp,
    token: &str,
    id: &str,
    action: &str,
    body: Option<&Value>,
) -> bodega_tests::TestResponse {
    let path = format!("/v1/designs/{id}/{action}");
    app.call(axum::http::Method::POST, &path, Some(token), body)
        .await
}

fn gallery_ids(gallery: &Value) -> Vec<String> {
    gallery
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_moderator_holds_a_reported_design_for_review_and_clears_it() {
    let app = spawn_app().await;
    let admin_email = unique_email("admin");
    app.signed_in_as(&admin_email).await;
    let admin = app.promote_to_platform_admin(&admin_email).await;
    let owner_email = unique_email("designer");
    let owner = app.signed_in_as(&owner_email).await;
    let design = app
        .ready_design(&owner, &bodega_tests::design_body("Poppies"))
        .await;
    let id = design["id"].as_str().unwrap().to_owned();
    let mut private = bodega_tests::design_body("Secret");
    private["isPublic"] = json!(false);
    let private = app.ready_design(&owner, &private).await;
    let private_id = private["id"].as_str().unwrap();

    // Reports: once per person, never of one's own or of a private design.
    let reason = json!({"reason": "Copies a <i>brand's</i> logo"});
    let reporter = app.signed_in_as(&unique_email("reporter")).await;
    let first = design_action(&app, &reporter, &id, "reports", Some(&reason)).await;
    assert_eq!(
        first.assert_ok(StatusCode::CREATED)["reason"],
        "Copies a brand's logo"
    );
    let again = design_action(&app, &reporter, &id, "reports", Some(&reason)).await;
    assert_eq!(again.assert_ok(StatusCode::OK)["reportCount"], 1);
    design_action(&app, &owner, &id, "reports", Some(&reason))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    design_action(&app, &reporter, private_id, "reports", Some(&reason))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    design_action(&app, &reporter, &id, "reports", Some(&json!({})))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // A moderator sees it in the queue and holds it for review.
    let moderator_email = unique_email("moderator");
    let token = app.signed_in_as(&moderator_email).await;
    let moderator_id = app.user_id(&token).await;
    app.grant_moderator(&admin, &moderator_id)
        .await
        .assert_ok(StatusCode::OK);
    let moderator = app.signed_in_as_existing(&moderator_email).await;
    let queue = app.moderation_queue(&moderator, "").await;
    let entry = queue.assert_ok(StatusCode::OK)[0].clone();
    assert_eq!(entry["kind"], "design");
    assert_eq!(entry["designId"], id.as_str());
    assert_eq!(entry["reportCount"], 1);
    let hold = json!({"reason": "Trademark"});
    design_action(&app, &reporter, &id, "hide", Some(&hold))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    design_action(&app, &moderator, private_id, "hide", Some(&hold))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let held = design_action(&app, &moderator, &id, "hide", Some(&hold)).await;
    assert_eq!(held.assert_ok(StatusCode::OK)["heldForReview"], true);
    assert!(!gallery_ids(app.gallery("").await.assert_ok(StatusCode::OK)).contains(&id));
    app.get_design(Some(&reporter), &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let own = app.get_design(Some(&owner), &id).await;
    assert_eq!(own.assert_ok(StatusCode::OK)["heldForReview"], true);
    let queue = app.moderation_queue(&moderator, "").await;
    assert!(
        queue
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The owner's trail has the reason, and the owner is emailed.
    let trail = app.my_audit(&owner, None).await;
    let event = trail.assert_ok(StatusCode::OK)[0].clone();
    assert_eq!(event["action"], "content.hidden");
    assert_eq!(event["details"]["designId"], id.as_str());
    assert_eq!(event["details"]["reason"], "Trademark");
    app.drain_stream().await;
    let email = app
        .only_email_to(&owner_email, "A moderator hid your design")
        .await;
    assert!(email.body.contains("Trademark"), "{email:?}");

    // Cleared: back in the gallery for everyone.
    let cleared = design_action(&app, &moderator, &id, "clear", None).await;
    assert_eq!(cleared.assert_ok(StatusCode::OK)["heldForReview"], false);
    assert!(gallery_ids(app.gallery("").await.assert_ok(StatusCode::OK)).contains(&id));
    app.get_design(Some(&reporter), &id)
        .await
        .assert_ok(StatusCode::OK);

    // Revoked: no more holding.
    app.revoke_moderator(&admin, &moderator_id)
        .await
        .assert_ok(StatusCode::OK);
    design_action(&app, &moderator, &id, "hide", Some(&hold))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
}
