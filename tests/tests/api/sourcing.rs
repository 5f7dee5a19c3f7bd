//! Sourcing against the local stack: a buyer's RFQ, explained matching,
//! invitations, sealed proposals with revisions, closing and the schedule.

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, unique_email};
use serde_json::{Value, json};
use shared::domain::{epoch_to_rfc3339, now_epoch};

const DAY: i64 = 24 * 3600;

fn date_in(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .date()
        .to_string()
}

fn time_in(seconds: i64) -> String {
    epoch_to_rfc3339(now_epoch() + seconds)
}

/// The platform, a category and a verified buyer.
struct Market {
    app: TestApp,
    admin: String,
    category: String,
    buyer: String,
    buyer_email: String,
    buyer_org: String,
}

/// A supplier's product as matching will see it.
struct Offer {
    haccp_expires_in_days: Option<i64>,
    allergens: &'static [&'static str],
    price: i64,
    lead_time_days: u32,
    category: Option<String>,
}

impl Default for Offer {
    fn default() -> Self {
        Self {
            haccp_expires_in_days: Some(200),
            allergens: &["none"],
            price: 240,
            lead_time_days: 5,
            category: None,
        }
    }
}

impl Market {
    async fn open() -> Self {
        Self::open_with(|_| {}).await
    }

    async fn open_with(adjust: impl FnOnce(&mut shared::config::Config)) -> Self {
        let app = bodega_tests::spawn_app_with(adjust).await;
        let admin_email = unique_email("admin");
        app.signed_in_as(&admin_email).await;
        let admin = app.promote_to_platform_admin(&admin_email).await;
        let category = app
            .category(
                &admin,
                &format!("produce-{}", ulid::Ulid::new().to_string().to_lowercase()),
            )
            .await;
        let buyer_email = unique_email("buyer");
        let buyer = app.signed_in_as(&buyer_email).await;
        let buyer_org = app.new_org(&buyer, "buyer").await;
        let market = Self {
            app,
            admin,
            category,
            buyer,
            buyer_email,
            buyer_org,
        };
        market.verify(&market.buyer_org).await;
        // Awarded orders ship to a saved address of the buyer.
        market
            .app
            .new_address(
                &market.buyer,
                &bodega_tests::org_addresses(&market.buyer_org),
                "Hopper Canteen",
            )
            .await;
        market
    }

    async fn verify(&self, org: &str) {
        self.app
            .set_verification(
                &self.admin,
                org,
                &json!({"businessVerified": true, "taxIdVerified": true}),
            )
            .await
            .assert_ok(StatusCode::OK);
    }

    /// A seller org (verified), delivering to DE, listing one product.
    async fn supplier(&self, name: &str, offer: Offer) -> (String, String) {
        let token = self.app.signed_in_as(&unique_email(name)).await;
        let org = self
            .app
            .create_org(
                &token,
                &json!({"kind": "seller", "name": name, "legalName": format!("{name} GmbH"), "country": "DE"}),
            )
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        self.verify(&org).await;
        self.app
            .update_org(
                &token,
                &org,
                &json!({"supply": {"deliveryCountries": ["DE", "AT"], "leadTimeDays": offer.lead_time_days}}),
                None,
            )
            .await
            .assert_ok(StatusCode::OK);
        let certifications: Vec<Value> = offer
            .haccp_expires_in_days
            .map(|days| json!({"kind": "haccp", "issuer": "SGS", "number": "H-1", "expiresOn": date_in(days)}))
            .into_iter()
            .collect();
        let category = offer
            .category
            .clone()
            .unwrap_or_else(|| self.category.clone());
        let mut body = bodega_tests::product_body(
            &org,
            &format!("{name}-{}", ulid::Ulid::new()).to_uppercase(),
            &category,
            &format!("Tomatoes of {name}"),
            offer.price,
        );
        body["unit"] = json!("kg");
        body["compliance"] =
            json!({"certifications": certifications, "allergens": offer.allergens});
        self.app.new_product(&token, &body).await;
        (token, org)
    }

    fn rfq_body(&self) -> Value {
        json!({
            "title": "Tomatoes for the winter menu",
            "currency": "EUR",
            "lines": [{
                "categoryId": self.category,
                "spec": "Roma tomatoes, class I",
                "quantity": 500,
                "unit": "kg",
                "targetUnitPrice": 250,
                "maxUnitPrice": 320,
                "minOrderQuantity": 100,
                "freeFrom": ["peanuts"]
            }],
            "delivery": {"country": "DE", "city": "Berlin", "windowFrom": date_in(19), "windowTo": date_in(21), "coldChain": true},
            "paymentTerms": {"netDays": 30},
            "requirements": {"certificates": ["haccp"]},
            "closesAt": time_in(2 * DAY),
            "awardBy": time_in(10 * DAY),
            "minSuppliers": 1
        })
    }

    async fn draft(&self) -> String {
        self.draft_of(&self.rfq_body()).await
    }

    async fn draft_of(&self, body: &Value) -> String {
        self.app
            .create_rfq(&self.buyer, &self.buyer_org, body)
            .await
            .assert_ok(StatusCode::CREATED)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn proposal(unit_price: i64, quantity: i64) -> Value {
    json!({
        "lines": [{"rfqLineId": "L1", "unitPrice": unit_price, "quantity": quantity}],
        "leadTimeDays": 5,
        "validUntil": date_in(60),
        "terms": "Delivered to the door"
    })
}

fn candidate<'a>(matches: &'a Value, org: &str) -> &'a Value {
    matches["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["supplierOrgId"] == org)
        .unwrap_or_else(|| panic!("{org} is not a candidate: {matches}"))
}

fn rule<'a>(candidate: &'a Value, name: &str) -> &'a Value {
    candidate["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == name)
        .unwrap()
}

#[tokio::test]
async fn a_buyer_sources_from_matched_suppliers_with_sealed_proposals() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let (_b, b_org) = m
        .supplier(
            "Beta",
            Offer {
                haccp_expires_in_days: Some(7),
                ..Offer::default()
            },
        )
        .await;
    let (_c, c_org) = m
        .supplier(
            "Gamma",
            Offer {
                allergens: &["may contain peanuts"],
                ..Offer::default()
            },
        )
        .await;
    let (d, d_org) = m
        .supplier(
            "Delta",
            Offer {
                allergens: &["milk"],
                price: 260,
                lead_time_days: 10,
                ..Offer::default()
            },
        )
        .await;
    let other_category = app
        .category(
            &m.admin,
            &format!("bread-{}", ulid::Ulid::new().to_string().to_lowercase()),
        )
        .await;
    let (e, e_org) = m
        .supplier(
            "Epsilon",
            Offer {
                category: Some(other_category),
                ..Offer::default()
            },
        )
        .await;

    let rfq = m.draft().await;
    let published = app.publish_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    let published = published.assert_ok(StatusCode::OK);
    assert_eq!(published["status"], "published");
    assert_eq!(published["matching"]["qualified"], 2, "{published}");
    assert_eq!(published["matching"]["relaxedRules"], json!([]));

    // Every candidate is explained; A passes with its score's factors.
    let matches = app.rfq_matches(&m.buyer, &m.buyer_org, &rfq).await;
    let matches = matches.assert_ok(StatusCode::OK);
    assert_eq!(
        matches["candidates"].as_array().unwrap().len(),
        4,
        "{matches}"
    );
    let alpha = candidate(matches, &a_org);
    assert_eq!(alpha["qualified"], true, "{alpha}");
    assert!(
        alpha["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["passed"] == true)
    );
    let score = &alpha["score"];
    let total = score["total"].as_u64().unwrap();
    assert!(total > 0 && total <= 100, "{score}");
    let price = score["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "price")
        .unwrap();
    assert_eq!(price["raw"], 0.96, "{price}");
    assert_eq!(price["weight"], 40);
    let sum: f64 = score["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["contribution"].as_f64().unwrap())
        .sum();
    assert!((sum - total as f64).abs() <= 0.5, "{score}");
    // B's HACCP lapses before the window ends; C may contain peanuts.
    let beta = candidate(matches, &b_org);
    assert_eq!(beta["qualified"], false);
    let certificates = rule(beta, "certificates");
    assert_eq!(certificates["passed"], false);
    assert!(
        certificates["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("haccp expires on {}", date_in(7))),
        "{certificates}"
    );
    assert!(beta.get("score").is_none());
    let gamma = candidate(matches, &c_org);
    assert_eq!(gamma["qualified"], false);
    let allergens = rule(gamma, "allergens");
    assert_eq!(allergens["passed"], false);
    assert!(
        allergens["reason"].as_str().unwrap().contains("peanuts"),
        "{allergens}"
    );
    assert_eq!(candidate(matches, &d_org)["qualified"], true);

    // Invited suppliers see it; E, never invited, gets 404 everywhere.
    let invitations = app.rfq_invitations(&a, &a_org).await;
    let invitations = invitations.assert_ok(StatusCode::OK);
    assert_eq!(invitations[0]["rfqId"], rfq.as_str());
    assert_eq!(invitations[0]["status"], "invited");
    let seen = app.get_rfq(&a, &a_org, &rfq).await;
    let seen = seen.assert_ok(StatusCode::OK);
    assert_eq!(seen["invitation"]["status"], "viewed");
    assert!(
        seen.get("weights").is_none() && seen.get("matching").is_none(),
        "{seen}"
    );
    let none = app.rfq_invitations(&e, &e_org).await;
    assert_eq!(none.assert_ok(StatusCode::OK), &json!([]));
    app.get_rfq(&e, &e_org, &rfq)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.propose(Method::POST, &e, &e_org, &rfq, &proposal(200, 500))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    // Nor may E read the buyer's RFQ under the buyer's org.
    app.get_rfq(&e, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // A revises three times; D proposes, withdraws and proposes again.
    let mut hashes = Vec::new();
    for (method, price) in [(Method::POST, 250), (Method::PUT, 245), (Method::PUT, 240)] {
        let expected = if method == Method::POST {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let sent = app
            .propose(method, &a, &a_org, &rfq, &proposal(price, 500))
            .await;
        let sent = sent.assert_ok(expected);
        assert_eq!(sent["revision"], hashes.len() + 1);
        let hash = sent["hash"].as_str().unwrap().to_owned();
        assert_eq!(hash.len(), 64);
        assert!(!hashes.contains(&hash));
        hashes.push(hash);
    }
    app.propose(Method::POST, &d, &d_org, &rfq, &proposal(255, 400))
        .await
        .assert_ok(StatusCode::CREATED);
    let withdrawn = app.withdraw_proposal(&d, &d_org, &rfq).await;
    assert_eq!(withdrawn.assert_ok(StatusCode::OK)["status"], "withdrawn");
    app.withdraw_proposal(&d, &d_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.propose(Method::PUT, &d, &d_org, &rfq, &proposal(255, 400))
        .await
        .assert_ok(StatusCode::OK);
    // A proposal breaking the RFQ's lines is refused field by field.
    let bad = json!({"lines": [{"rfqLineId": "L9", "unitPrice": 1, "quantity": 1}, {"rfqLineId": "L1", "unitPrice": 999, "quantity": 50}], "leadTimeDays": 5, "validUntil": "yesterday"});
    let refused = app.propose(Method::PUT, &d, &d_org, &rfq, &bad).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    for field in [
        "lines[0].rfqLineId",
        "lines[1].unitPrice",
        "lines[1].quantity",
        "validUntil",
    ] {
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{field}: {}",
            refused.body
        );
    }

    // Sealed: the buyer sees a count, never prices or names.
    let sealed = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    let sealed_body = sealed.assert_ok(StatusCode::OK);
    assert_eq!(sealed_body["proposalCount"], 2);
    let sealed_text = sealed_body.to_string();
    assert!(
        !sealed_text.contains("unitPrice")
            && !sealed_text.contains("Alpha")
            && !sealed_text.contains("Delta"),
        "{sealed_text}"
    );
    app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Closing unseals; nothing more is accepted or withdrawn.
    let closed = app.close_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(closed.assert_ok(StatusCode::OK)["status"], "closed");
    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.propose(Method::PUT, &a, &a_org, &rfq, &proposal(230, 500))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.withdraw_proposal(&a, &a_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let ranked = app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq).await;
    let ranked = ranked.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0]["supplierOrgId"], a_org.as_str());
    assert_eq!(ranked[0]["rank"], 1);
    assert_eq!(ranked[0]["revision"], 3, "only the last revision counts");
    assert_eq!(ranked[0]["lines"][0]["unitPrice"], 240);
    assert_eq!(ranked[0]["total"], 240 * 500);
    assert_eq!(ranked[0]["hash"], hashes[2].as_str());
    assert_eq!(ranked[0]["compliance"]["passed"], true);
    assert_eq!(ranked[1]["supplierOrgId"], d_org.as_str());
    assert_eq!(ranked[1]["rank"], 2);

    // Every revision is kept with its hash.
    for (n, hash) in hashes.iter().enumerate() {
        let item = app
            .stored_item(
                &format!("RFQ#{rfq}"),
                &format!("REVISION#{a_org}#{:05}", n + 1),
            )
            .await
            .expect("the revision is stored");
        assert_eq!(item["hash"].as_s().unwrap(), hash);
    }

    // A split award: two orders at the proposals' prices, replayable.
    let (a_id, d_id) = (text(&ranked[0]["id"]), text(&ranked[1]["id"]));
    let split = json!({"awards": [
        {"proposalId": a_id, "lines": [{"rfqLineId": "L1", "quantity": 300}]},
        {"proposalId": d_id, "lines": [{"rfqLineId": "L1", "quantity": 200}]}
    ]});
    let no_reason = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &split, Some("award-1"))
        .await;
    no_reason.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        no_reason.body["error"]["fields"].get("reason").is_some(),
        "{}",
        no_reason.body
    );
    let mut split = split;
    split["reason"] = json!("Two suppliers secure the supply");
    let awarded = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &split, Some("award-1"))
        .await;
    let awarded = awarded.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(awarded["status"], "awarded");
    let orders = awarded["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2);
    for (order, (supplier, price, quantity, revision)) in orders
        .iter()
        .zip([(&a_org, 240, 300, 3), (&d_org, 255, 200, 2)])
    {
        assert_eq!(order["supplierOrgId"], supplier.as_str());
        let id = text(&order["orderId"]);
        let stored = app.order(&m.buyer, &id).await;
        let stored = stored.assert_ok(StatusCode::OK);
        assert_eq!(stored["lines"][0]["unitPrice"], price);
        assert_eq!(stored["lines"][0]["quantity"], quantity);
        assert_eq!(stored["totals"]["total"], price * quantity);
        assert_eq!(stored["payment"]["method"], "invoice");
        assert_eq!(stored["buyer"]["orgId"], m.buyer_org.as_str());
        assert_eq!(stored["sourcedFrom"]["source"], "rfq");
        assert_eq!(stored["sourcedFrom"]["revision"], revision);
        let fulfilment = app.fulfilment(&d, &d_org, &id).await;
        if *supplier == d_org {
            fulfilment.assert_ok(StatusCode::OK);
        } else {
            fulfilment.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
        }
    }
    let replay = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &split, Some("award-1"))
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.assert_ok(StatusCode::OK), &awarded);
    let again = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &split, Some("award-2"))
        .await;
    again.assert_error(StatusCode::CONFLICT, "CONFLICT");
    let listed = app
        .orders(&m.buyer, &format!("orgId={}", m.buyer_org))
        .await;
    assert_eq!(
        listed.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        2,
        "nothing new"
    );

    // Milestones: D's order, paid by invoice, ships and arrives.
    let d_order = text(&orders[1]["orderId"]);
    let milestone = |kind: &str, status: &str| json!({"type": kind, "status": status, "at": time_in(0), "lot": "LOT-1"});
    app.record_milestone(&d, &d_org, &d_order, &milestone("picked_up", "actual"))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.mark_invoice_paid(&m.admin, &d_order)
        .await
        .assert_ok(StatusCode::OK);
    app.record_milestone(
        &m.buyer,
        &m.buyer_org,
        &d_order,
        &milestone("delivered", "actual"),
    )
    .await
    .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.record_milestone(&a, &a_org, &d_order, &milestone("picked_up", "actual"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.record_milestone(&e, &d_org, &d_order, &milestone("picked_up", "actual"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let excursion = app
        .record_milestone(
            &d,
            &d_org,
            &d_order,
            &milestone("temperature_excursion", "actual"),
        )
        .await;
    excursion.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let shipped = app
        .record_milestone(&d, &d_org, &d_order, &milestone("picked_up", "actual"))
        .await;
    assert_eq!(shipped.assert_ok(StatusCode::CREATED)["status"], "shipped");
    let delivered = app
        .record_milestone(&d, &d_org, &d_order, &milestone("delivered", "actual"))
        .await;
    assert_eq!(
        delivered.assert_ok(StatusCode::CREATED)["status"],
        "delivered"
    );
    let seen = app.order(&m.buyer, &d_order).await;
    let seen = seen.assert_ok(StatusCode::OK);
    assert_eq!(seen["status"], "delivered");
    let log: Vec<&str> = seen["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(log, ["picked_up", "delivered"]);
    // A temperature excursion alerts the buyer.
    let mut excursion = milestone("temperature_excursion", "actual");
    excursion["temperatureC"] = json!(9.5);
    app.record_milestone(&d, &d_org, &d_order, &excursion)
        .await
        .assert_ok(StatusCode::CREATED);
    app.drain_stream().await;
    let alerts: Vec<String> = app
        .emails_to(&m.buyer_email)
        .await
        .into_iter()
        .map(|e| e.subject)
        .filter(|s| s.starts_with("Temperature excursion"))
        .collect();
    assert_eq!(
        alerts,
        [format!("Temperature excursion on order {d_order}")]
    );
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

#[tokio::test]
async fn concurrent_awards_cannot_over_award_and_expired_proposals_are_refused() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let (d, d_org) = m.supplier("Delta", Offer::default()).await;
    let rfq = m.draft().await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    for (token, org, price) in [(&a, &a_org, 240), (&d, &d_org, 250)] {
        app.propose(Method::POST, token, org, &rfq, &proposal(price, 500))
            .await
            .assert_ok(StatusCode::CREATED);
    }
    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let ranked = app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq).await;
    let ranked = ranked.assert_ok(StatusCode::OK).clone();
    let (a_id, d_id) = (text(&ranked[0]["id"]), text(&ranked[1]["id"]));

    // D's offer lapsed: it cannot be awarded.
    app.set_stored_attribute(
        &format!("RFQ#{rfq}"),
        &format!("PROPOSAL#{d_org}"),
        "validUntil",
        aws_sdk_dynamodb::types::AttributeValue::S(date_in(-1)),
    )
    .await;
    let lapsed = json!({"awards": [{"proposalId": d_id, "lines": [{"rfqLineId": "L1", "quantity": 100}]}], "reason": "cheaper later"});
    let refused = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &lapsed, None)
        .await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body.to_string().contains("expired"),
        "{}",
        refused.body
    );

    // Two awards of 400 of the 500 asked, at once: one wins.
    let body =
        json!({"awards": [{"proposalId": a_id, "lines": [{"rfqLineId": "L1", "quantity": 400}]}]});
    let (first, second) = tokio::join!(
        app.award_rfq(&m.buyer, &m.buyer_org, &rfq, &body, Some("k-1")),
        app.award_rfq(&m.buyer, &m.buyer_org, &rfq, &body, Some("k-2")),
    );
    let statuses = [first.status, second.status];
    assert!(statuses.contains(&StatusCode::CREATED), "{statuses:?}");
    assert!(
        statuses.contains(&StatusCode::CONFLICT),
        "{statuses:?} {} {}",
        first.body,
        second.body
    );
    let counter = app
        .stored_item(&format!("RFQ#{rfq}"), "AWARDED#L1")
        .await
        .expect("the line's counter");
    assert_eq!(counter["awarded"].as_n().unwrap(), "400");
    let rfq_now = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(
        rfq_now.assert_ok(StatusCode::OK)["status"],
        "partially_awarded"
    );
    // The remaining 100 can still go.
    let rest =
        json!({"awards": [{"proposalId": a_id, "lines": [{"rfqLineId": "L1", "quantity": 100}]}]});
    let done = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &rest, None)
        .await;
    assert_eq!(done.assert_ok(StatusCode::CREATED)["status"], "awarded");
}

#[tokio::test]
async fn rfq_permissions_follow_org_kind_role_and_tenancy() {
    let m = Market::open().await;
    let app = &m.app;
    let rfq = m.draft().await;
    // A viewer reads but may not write.
    let (viewer, _) = app
        .joins_org(
            &m.buyer,
            &m.buyer_org,
            &unique_email("viewer"),
            "member",
            &["viewer"],
        )
        .await;
    app.get_rfq(&viewer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    app.create_rfq(&viewer, &m.buyer_org, &m.rfq_body())
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.publish_rfq(&viewer, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // A seller org never holds rfq:create; a buyer org never proposal:submit.
    let (seller, seller_org) = m.supplier("Sigma", Offer::default()).await;
    app.create_rfq(&seller, &seller_org, &m.rfq_body())
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.propose(Method::POST, &m.buyer, &m.buyer_org, &rfq, &proposal(1, 1))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    // Another org's RFQ does not exist for you.
    for response in [
        app.get_rfq(&seller, &m.buyer_org, &rfq).await,
        app.rfq_matches(&seller, &m.buyer_org, &rfq).await,
        app.update_rfq(&seller, &m.buyer_org, &rfq, &json!({"title": "x"}), None)
            .await,
    ] {
        response.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    let other_buyer = app.signed_in_as(&unique_email("other")).await;
    let other_org = app.new_org(&other_buyer, "buyer").await;
    app.get_rfq(&other_buyer, &other_org, &rfq)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let listed = app.list_rfqs(&other_buyer, &other_org, "").await;
    assert_eq!(listed.assert_ok(StatusCode::OK), &json!([]));
    let listed = app.list_rfqs(&m.buyer, &m.buyer_org, "status=draft").await;
    assert_eq!(listed.assert_ok(StatusCode::OK)[0]["id"], rfq.as_str());
    // Only verified buyers publish.
    let other_rfq = app
        .create_rfq(&other_buyer, &other_org, &m.rfq_body())
        .await
        .assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish_rfq(&other_buyer, &other_org, &other_rfq)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn a_draft_is_checked_field_by_field_and_edited_with_if_match() {
    let m = Market::open().await;
    let app = &m.app;
    let mut body = m.rfq_body();
    body["lines"][0]["quantity"] = json!(0);
    body["lines"][0]["unit"] = json!("ton");
    body["lines"][0]["targetUnitPrice"] = json!(400);
    body["delivery"]["country"] = json!("XX");
    body["delivery"]["windowTo"] = json!("2020-01-01");
    body["requirements"]["certificates"] = json!(["haccp", "iso9001"]);
    body["closesAt"] = json!("tomorrow");
    let refused = app.create_rfq(&m.buyer, &m.buyer_org, &body).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // A page size outside 1 to 100 is refused, not clamped.
    for query in ["limit=0", "limit=101"] {
        app.list_rfqs(&m.buyer, &m.buyer_org, query)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    }
    for field in [
        "lines[0].quantity",
        "lines[0].unit",
        "lines[0].targetUnitPrice",
        "delivery.country",
        "delivery.windowTo",
        "requirements.certificates[1]",
        "closesAt",
    ] {
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{field}: {}",
            refused.body
        );
    }
    let rfq = m.draft().await;
    let stale = app
        .update_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"title": "Roma tomatoes"}),
            Some("\"9\""),
        )
        .await;
    stale.assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let edited = app
        .update_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"title": "Roma tomatoes"}),
            Some("\"1\""),
        )
        .await;
    assert_eq!(edited.headers["etag"], "\"2\"");
    let edited = edited.assert_ok(StatusCode::OK);
    assert_eq!(edited["title"], "Roma tomatoes");
    assert_eq!(edited["lines"][0]["id"], "L1");
    let invalid = app
        .update_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"awardBy": time_in(DAY)}),
            None,
        )
        .await;
    invalid.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(invalid.body["error"]["fields"].get("awardBy").is_some());

    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    app.update_rfq(
        &m.buyer,
        &m.buyer_org,
        &rfq,
        &json!({"title": "Later"}),
        None,
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
}

#[tokio::test]
async fn the_schedule_closes_due_rfqs_and_expires_unawarded_ones() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let rfq = m.draft().await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    app.propose(Method::POST, &a, &a_org, &rfq, &proposal(240, 500))
        .await
        .assert_ok(StatusCode::CREATED);
    let schedule = sourcing::SourcingState::new(&app.services);
    let report = sourcing::closing::sweep(&schedule, now_epoch())
        .await
        .unwrap();
    assert_eq!(report.closed, 0, "not due yet");
    let report = sourcing::closing::sweep(&schedule, now_epoch() + 3 * DAY)
        .await
        .unwrap();
    assert_eq!((report.closed, report.expired), (1, 0));
    let closed = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(closed.assert_ok(StatusCode::OK)["status"], "closed");
    let ranked = app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(
        ranked.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    assert_eq!(
        own.assert_ok(StatusCode::OK)["proposal"]["status"],
        "unsealed"
    );
    let report = sourcing::closing::sweep(&schedule, now_epoch() + 3 * DAY)
        .await
        .unwrap();
    assert_eq!(
        (report.closed, report.expired),
        (0, 0),
        "each RFQ moves once"
    );
    let report = sourcing::closing::sweep(&schedule, now_epoch() + 11 * DAY)
        .await
        .unwrap();
    assert_eq!(report.expired, 1);
    let expired = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(expired.assert_ok(StatusCode::OK)["status"], "expired");
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    assert_eq!(
        own.assert_ok(StatusCode::OK)["proposal"]["status"],
        "expired",
        "an unawarded proposal expires with its RFQ"
    );
    let heard = app.emails_to(&email_of(app, &a).await).await;
    assert_eq!(
        subjects(&heard, "Not selected"),
        ["Not selected: Tomatoes for the winter menu"],
        "its proposer hears it, once"
    );
}

#[tokio::test]
async fn too_few_strict_matches_relax_only_practical_rules() {
    let m = Market::open().await;
    let app = &m.app;
    let (_slow, slow_org) = m
        .supplier(
            "Slow",
            Offer {
                lead_time_days: 60,
                ..Offer::default()
            },
        )
        .await;
    let (_lapsing, lapsing_org) = m
        .supplier(
            "Lapsing",
            Offer {
                lead_time_days: 60,
                haccp_expires_in_days: None,
                ..Offer::default()
            },
        )
        .await;
    let mut body = m.rfq_body();
    body["minSuppliers"] = json!(3);
    let rfq = m.draft_of(&body).await;
    let published = app.publish_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    let published = published.assert_ok(StatusCode::OK);
    assert_eq!(published["matching"]["relaxedRules"], json!(["leadTime"]));
    assert_eq!(published["matching"]["qualified"], 1);
    let matches = app.rfq_matches(&m.buyer, &m.buyer_org, &rfq).await;
    let matches = matches.assert_ok(StatusCode::OK);
    assert_eq!(matches["relaxedRules"], json!(["leadTime"]));
    let slow = candidate(matches, &slow_org);
    assert_eq!(slow["qualified"], true);
    assert_eq!(slow["relaxedRules"], json!(["leadTime"]));
    assert_eq!(rule(slow, "leadTime")["passed"], false);
    let lapsing = candidate(matches, &lapsing_org);
    assert_eq!(lapsing["qualified"], false, "certificates never relax");
    assert!(
        rule(lapsing, "certificates")["reason"]
            .as_str()
            .unwrap()
            .contains("no haccp certificate")
    );
}

/// An email that cannot be queued (here: no platform email queue at all)
/// is logged; the RFQ is published and the supplier invited all the same.
#[tokio::test]
async fn publishing_invites_suppliers_even_when_their_emails_cannot_be_queued() {
    let m = Market::open_with(|config| config.platform_email_queue_url = None).await;
    let app = &m.app;
    let (token, org) = m.supplier("Unmailed", Offer::default()).await;
    let rfq = m.draft().await;
    let published = app.publish_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(published.assert_ok(StatusCode::OK)["status"], "published");
    let invitations = app.rfq_invitations(&token, &org).await;
    let invitations = invitations.assert_ok(StatusCode::OK);
    assert_eq!(invitations[0]["rfqId"], rfq.as_str());
    assert_eq!(invitations[0]["status"], "invited");
}

#[tokio::test]
async fn each_supplier_sees_only_its_own_thread_and_the_answers_to_all() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let (d, d_org) = m.supplier("Delta", Offer::default()).await;
    let other_category = app
        .category(
            &m.admin,
            &format!("bread-{}", ulid::Ulid::new().to_string().to_lowercase()),
        )
        .await;
    let (e, e_org) = m
        .supplier(
            "Epsilon",
            Offer {
                category: Some(other_category),
                ..Offer::default()
            },
        )
        .await;
    let rfq = m.draft().await;
    app.post_rfq_message(
        &m.buyer,
        &m.buyer_org,
        &rfq,
        &json!({"text": "hello", "toAll": true}),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);

    let asked = app
        .post_rfq_message(
            &a,
            &a_org,
            &rfq,
            &json!({"text": "Is a 6 kg case acceptable?"}),
        )
        .await;
    assert_eq!(asked.assert_ok(StatusCode::CREATED)["from"], "supplier");
    let buyer_heard = app.emails_to(&m.buyer_email).await;
    assert_eq!(
        subjects(&buyer_heard, "New message"),
        ["New message on Tomatoes for the winter menu"],
        "the buyer hears of a supplier's question"
    );
    assert!(
        buyer_heard
            .iter()
            .any(|e| e.body.contains("Is a 6 kg case acceptable?"))
    );
    app.post_rfq_message(
        &m.buyer,
        &m.buyer_org,
        &rfq,
        &json!({"text": "Yes", "supplierOrgId": a_org}),
    )
    .await
    .assert_ok(StatusCode::CREATED);
    app.post_rfq_message(
        &m.buyer,
        &m.buyer_org,
        &rfq,
        &json!({"text": "6 kg cases are fine for everyone", "toAll": true}),
    )
    .await
    .assert_ok(StatusCode::CREATED);
    let stranger = app
        .post_rfq_message(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "hi", "supplierOrgId": e_org}),
        )
        .await;
    stranger.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.post_rfq_message(&a, &a_org, &rfq, &json!({"text": "  "}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    let all = app.rfq_messages(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(all.assert_ok(StatusCode::OK).as_array().unwrap().len(), 3);
    let a_heard = app.emails_to(&email_of(app, &a).await).await;
    assert_eq!(
        subjects(&a_heard, "New message"),
        ["New message on Tomatoes for the winter menu"]
    );
    assert_eq!(
        subjects(&a_heard, "Amendment"),
        ["Amendment 1: Tomatoes for the winter menu"]
    );
    let d_heard = app.emails_to(&email_of(app, &d).await).await;
    assert_eq!(subjects(&d_heard, "New message"), Vec::<String>::new());
    assert_eq!(
        subjects(&d_heard, "Amendment"),
        ["Amendment 1: Tomatoes for the winter menu"],
        "an answer to all reaches every invitee"
    );
    let alpha = app.rfq_messages(&a, &a_org, &rfq).await;
    let alpha: Vec<String> = alpha
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| text(&m["text"]))
        .collect();
    assert_eq!(
        alpha,
        [
            "Is a 6 kg case acceptable?",
            "Yes",
            "6 kg cases are fine for everyone"
        ]
    );
    let delta = app.rfq_messages(&d, &d_org, &rfq).await;
    let delta: Vec<String> = delta
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| text(&m["text"]))
        .collect();
    assert_eq!(
        delta,
        ["6 kg cases are fine for everyone"],
        "never another supplier's thread"
    );
    app.rfq_messages(&e, &e_org, &rfq)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.post_rfq_message(&e, &e_org, &rfq, &json!({"text": "let me in"}))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// The email address `token` signed in with.
async fn email_of(app: &TestApp, token: &str) -> String {
    text(&app.me(token).await.assert_ok(StatusCode::OK)["email"])
}

fn subjects(emails: &[bodega_tests::SentEmail], prefix: &str) -> Vec<String> {
    emails
        .iter()
        .map(|e| e.subject.clone())
        .filter(|s| s.starts_with(prefix))
        .collect()
}

fn fields(response: &bodega_tests::TestResponse) -> Vec<String> {
    let mut names: Vec<String> = response.body["error"]["fields"]
        .as_object()
        .map(|f| f.keys().cloned().collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_published_rfq_changes_only_through_amendments_its_invitees_see() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let a_email = email_of(app, &a).await;
    let rfq = m.draft().await;
    let amendment = json!({"text": "One more week."});
    app.amend_rfq(&m.buyer, &m.buyer_org, &rfq, &amendment)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);

    // Every problem at once; what an amendment cannot change is refused.
    let bad = app
        .amend_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": " ", "closesAt": time_in(DAY), "awardBy": time_in(DAY), "delivery": {"windowTo": "soon"}}),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        fields(&bad),
        ["awardBy", "closesAt", "delivery.windowTo", "text"]
    );
    assert!(
        text(&bad.body["error"]["fields"]["closesAt"][0]).contains("can only move later"),
        "{}",
        bad.body
    );
    let lines = app
        .amend_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "More tomatoes", "lines": []}),
        )
        .await;
    assert!(lines.status.is_client_error(), "{}", lines.body);
    assert_eq!(lines.error_code(), "VALIDATION_FAILED");
    let path = format!("/v1/orgs/{}/rfqs/{rfq}/amendments", m.buyer_org);
    app.call_if_match(
        Method::POST,
        &path,
        Some(&m.buyer),
        Some("\"1\""),
        Some(&amendment),
    )
    .await
    .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");

    // Extending the closing time and the award deadline.
    let new_close = time_in(9 * DAY);
    let amended = app
        .amend_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "One more week; 6 kg cases are fine.", "closesAt": new_close, "awardBy": time_in(12 * DAY)}),
        )
        .await;
    let amended = amended.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(amended["number"], 1);
    let changed: Vec<&str> = amended["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["closesAt", "awardBy"]);
    let seen = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    let seen = seen.assert_ok(StatusCode::OK);
    assert_eq!(seen["closesAt"], new_close.as_str());
    assert_eq!(seen["amendmentCount"], 1);
    let schedule = sourcing::SourcingState::new(&app.services);
    let report = sourcing::closing::sweep(&schedule, now_epoch() + 3 * DAY)
        .await
        .unwrap();
    assert_eq!(
        report.closed, 0,
        "the schedule follows the new closing time"
    );

    // The invitee sees the amended RFQ, the amendment and its invitation moved.
    let supplier_view = app.get_rfq(&a, &a_org, &rfq).await;
    let supplier_view = supplier_view.assert_ok(StatusCode::OK);
    assert_eq!(supplier_view["closesAt"], new_close.as_str());
    assert_eq!(
        supplier_view["amendments"][0]["text"],
        "One more week; 6 kg cases are fine."
    );
    let invitations = app.rfq_invitations(&a, &a_org).await;
    assert_eq!(
        invitations.assert_ok(StatusCode::OK)[0]["closesAt"],
        new_close.as_str()
    );

    // A message to all invitees is an amendment too.
    let answer = app
        .post_rfq_message(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "Pallets must be EUR pallets.", "toAll": true}),
        )
        .await;
    let answer = answer.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(answer["amendmentNumber"], 2);
    let listed = app.rfq_amendments(&a, &a_org, &rfq).await;
    let listed = listed.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["messageId"], answer["id"]);
    assert_eq!(listed[1]["changes"], json!([]));
    let thread = app.rfq_messages(&a, &a_org, &rfq).await;
    assert_eq!(
        thread.assert_ok(StatusCode::OK)[0]["text"],
        "Pallets must be EUR pallets."
    );
    let emails = app.emails_to(&a_email).await;
    assert_eq!(
        subjects(&emails, "Amendment"),
        [
            "Amendment 1: Tomatoes for the winter menu",
            "Amendment 2: Tomatoes for the winter menu"
        ]
    );
    assert!(
        emails
            .iter()
            .any(|e| e.body.contains("closesAt: ") && e.body.contains(&new_close)),
        "the email lists the changes"
    );

    // Who may: a viewer reads only; other orgs and strangers see nothing.
    let (viewer, _) = app
        .joins_org(
            &m.buyer,
            &m.buyer_org,
            &unique_email("viewer"),
            "member",
            &["viewer"],
        )
        .await;
    app.rfq_amendments(&viewer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    app.amend_rfq(&viewer, &m.buyer_org, &rfq, &amendment)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.amend_rfq(&a, &a_org, &rfq, &amendment)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let (stranger, stranger_org) = m
        .supplier(
            "Stranger",
            Offer {
                category: Some(
                    app.category(
                        &m.admin,
                        &format!("fish-{}", ulid::Ulid::new().to_string().to_lowercase()),
                    )
                    .await,
                ),
                ..Offer::default()
            },
        )
        .await;
    app.rfq_amendments(&stranger, &stranger_org, &rfq)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let other_buyer = app.signed_in_as(&unique_email("other")).await;
    let other_org = app.new_org(&other_buyer, "buyer").await;
    app.amend_rfq(&other_buyer, &other_org, &rfq, &amendment)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.amend_rfq(&other_buyer, &m.buyer_org, &rfq, &amendment)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let audit = app.org_audit(&m.buyer, &m.buyer_org, "?limit=100").await;
    let amended_entries = audit
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "rfq.amended")
        .count();
    assert_eq!(amended_entries, 2);

    // Closed, it no longer changes.
    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    app.amend_rfq(&m.buyer, &m.buyer_org, &rfq, &amendment)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
}

#[tokio::test]
async fn an_amended_closing_time_leaves_invitees_a_day_at_least() {
    let m = Market::open().await;
    let app = &m.app;
    m.supplier("Alpha", Offer::default()).await;
    let mut body = m.rfq_body();
    body["closesAt"] = json!(time_in(3600));
    let rfq = m.draft_of(&body).await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let short = app
        .amend_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "Two more hours", "closesAt": time_in(3 * 3600)}),
        )
        .await;
    short.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(text(&short.body["error"]["fields"]["closesAt"][0]).contains("24 hours"));
    let window = app
        .amend_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "Deliver a week later", "delivery": {"windowFrom": date_in(26), "windowTo": date_in(28)}}),
        )
        .await;
    let window = window.assert_ok(StatusCode::CREATED);
    assert_eq!(window["changes"].as_array().unwrap().len(), 2);
    let seen = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(
        seen.assert_ok(StatusCode::OK)["delivery"]["windowTo"],
        date_in(28)
    );
    let early = app
        .amend_rfq(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"text": "Deliver tomorrow", "delivery": {"windowFrom": date_in(0), "windowTo": date_in(0)}}),
        )
        .await;
    early.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(fields(&early), ["delivery.windowTo"]);
}

/// `org`'s proposal in a ranked list.
fn proposal_of<'a>(ranked: &'a Value, org: &str) -> &'a Value {
    ranked
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["supplierOrgId"] == org)
        .unwrap_or_else(|| panic!("no proposal of {org}: {ranked}"))
}

fn status_of(ranked: &Value, org: &str) -> String {
    text(&proposal_of(ranked, org)["status"])
}

fn id_of(ranked: &Value, org: &str) -> String {
    text(&proposal_of(ranked, org)["id"])
}

#[tokio::test]
async fn proposals_unseal_then_are_shortlisted_disqualified_and_awarded_or_not() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let (b, b_org) = m.supplier("Beta", Offer::default()).await;
    let (c, c_org) = m.supplier("Gamma", Offer::default()).await;
    let rfq = m.draft().await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    for (token, org, price) in [(&a, &a_org, 240), (&b, &b_org, 250), (&c, &c_org, 230)] {
        app.propose(Method::POST, token, org, &rfq, &proposal(price, 500))
            .await
            .assert_ok(StatusCode::CREATED);
    }
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    assert_eq!(
        own.assert_ok(StatusCode::OK)["proposal"]["status"],
        "submitted"
    );
    app.shortlist(&m.buyer, &m.buyer_org, &rfq, &json!({"proposalIds": ["x"]}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Gamma's HACCP now lapses before the delivery window ends.
    let listed = app.list_products(&format!("sellerOrgId={c_org}")).await;
    let product = text(&listed.assert_ok(StatusCode::OK)[0]["id"]);
    app.update_product(
        &c,
        &product,
        None,
        &json!({"compliance": {"certifications": [{"kind": "haccp", "issuer": "SGS", "number": "H-1", "expiresOn": date_in(10)}], "allergens": ["none"]}}),
    )
    .await
    .assert_ok(StatusCode::OK);
    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let ranked = app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq).await;
    let ranked = ranked.assert_ok(StatusCode::OK).clone();
    assert_eq!(status_of(&ranked, &a_org), "unsealed");
    assert_eq!(status_of(&ranked, &b_org), "unsealed");
    assert_eq!(status_of(&ranked, &c_org), "disqualified");
    let stored = app
        .stored_item(&format!("RFQ#{rfq}"), &format!("PROPOSAL#{c_org}"))
        .await
        .unwrap();
    assert_eq!(
        stored["status"].as_s().unwrap(),
        "disqualified",
        "stored at closing"
    );
    let own = app.get_rfq(&c, &c_org, &rfq).await;
    let own = own.assert_ok(StatusCode::OK);
    assert_eq!(own["proposal"]["status"], "disqualified");
    assert!(
        text(&own["proposal"]["disqualifiedReasons"][0]).contains("haccp"),
        "{own}"
    );
    let (a_id, b_id, c_id) = (
        id_of(&ranked, &a_org),
        id_of(&ranked, &b_org),
        id_of(&ranked, &c_org),
    );

    // The shortlist: every problem at once, then the buyer's choice.
    let bad = app
        .shortlist(
            &m.buyer,
            &m.buyer_org,
            &rfq,
            &json!({"proposalIds": [c_id, "nope", a_id, a_id]}),
        )
        .await;
    bad.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        fields(&bad),
        ["proposalIds[0]", "proposalIds[1]", "proposalIds[3]"]
    );
    app.shortlist(&m.buyer, &m.buyer_org, &rfq, &json!({"proposalIds": []}))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let choice = json!({"proposalIds": [a_id, b_id]});
    app.shortlist(&a, &a_org, &rfq, &choice)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let other_buyer = app.signed_in_as(&unique_email("other")).await;
    let other_org = app.new_org(&other_buyer, "buyer").await;
    app.shortlist(&other_buyer, &other_org, &rfq, &choice)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let shortlisted = app.shortlist(&m.buyer, &m.buyer_org, &rfq, &choice).await;
    let shortlisted = shortlisted.assert_ok(StatusCode::OK).clone();
    assert_eq!(status_of(&shortlisted, &a_org), "shortlisted");
    assert_eq!(status_of(&shortlisted, &b_org), "shortlisted");
    let own = app.get_rfq(&b, &b_org, &rfq).await;
    assert_eq!(
        own.assert_ok(StatusCode::OK)["proposal"]["status"],
        "shortlisted"
    );

    // Awards: part of A, then part of B ends the RFQ.
    let part =
        json!({"awards": [{"proposalId": a_id, "lines": [{"rfqLineId": "L1", "quantity": 300}]}]});
    app.award_rfq(&m.buyer, &m.buyer_org, &rfq, &part, None)
        .await
        .assert_ok(StatusCode::CREATED);
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    let own = own.assert_ok(StatusCode::OK);
    assert_eq!(own["proposal"]["status"], "partially_awarded");
    assert_eq!(own["proposal"]["awardedQuantity"], 300);
    let own = app.get_rfq(&b, &b_org, &rfq).await;
    assert_eq!(
        own.assert_ok(StatusCode::OK)["proposal"]["status"],
        "shortlisted",
        "still in the running"
    );
    let b_email = email_of(app, &b).await;
    assert_eq!(
        subjects(&app.emails_to(&b_email).await, "Not selected"),
        Vec::<String>::new(),
        "not told before the RFQ is awarded out"
    );
    let rest =
        json!({"awards": [{"proposalId": a_id, "lines": [{"rfqLineId": "L1", "quantity": 200}]}]});
    app.award_rfq(&m.buyer, &m.buyer_org, &rfq, &rest, None)
        .await
        .assert_ok(StatusCode::CREATED);
    let ranked = app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq).await;
    let ranked = ranked.assert_ok(StatusCode::OK).clone();
    assert_eq!(status_of(&ranked, &a_org), "awarded");
    assert_eq!(status_of(&ranked, &b_org), "not_awarded");
    assert_eq!(status_of(&ranked, &c_org), "disqualified");
    app.shortlist(&m.buyer, &m.buyer_org, &rfq, &choice)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let outcome = "Tomatoes for the winter menu";
    let a_heard = app.emails_to(&email_of(app, &a).await).await;
    assert_eq!(
        subjects(&a_heard, "Awarded"),
        [format!("Awarded: {outcome}"), format!("Awarded: {outcome}")],
        "one per award, with its order"
    );
    assert_eq!(subjects(&a_heard, "Not selected"), Vec::<String>::new());
    for token in [&b, &c] {
        let heard = app.emails_to(&email_of(app, token).await).await;
        assert_eq!(
            subjects(&heard, "Not selected"),
            [format!("Not selected: {outcome}")]
        );
    }

    let audit = app.org_audit(&m.buyer, &m.buyer_org, "?limit=100").await;
    assert!(
        audit
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "proposal.shortlisted"),
        "shortlisting is audited"
    );
}

#[tokio::test]
async fn invitees_without_a_proposal_are_reminded_once_two_days_before_closing() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let (d, _) = m.supplier("Delta", Offer::default()).await;
    let (e, e_org) = m.supplier("Echo", Offer::default()).await;
    let mut body = m.rfq_body();
    body["closesAt"] = json!(time_in(5 * DAY));
    let rfq = m.draft_of(&body).await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    app.propose(Method::POST, &a, &a_org, &rfq, &proposal(240, 500))
        .await
        .assert_ok(StatusCode::CREATED);
    app.decline_rfq_invitation(&e, &e_org, &rfq, &json!({"reason": "No capacity"}))
        .await
        .assert_ok(StatusCode::OK);
    let schedule = sourcing::SourcingState::new(&app.services);
    let report = sourcing::closing::sweep(&schedule, now_epoch())
        .await
        .unwrap();
    assert_eq!(report.reminded, 0, "five days before closing");
    let later = now_epoch() + 3 * DAY + 3600;
    let report = sourcing::closing::sweep(&schedule, later).await.unwrap();
    assert_eq!((report.reminded, report.closed), (1, 0));
    let report = sourcing::closing::sweep(&schedule, later + 600)
        .await
        .unwrap();
    assert_eq!(report.reminded, 0, "once");
    for (token, expected) in [
        (
            &d,
            vec!["Closing soon: Tomatoes for the winter menu".to_owned()],
        ),
        (&a, Vec::new()),
        (&e, Vec::new()),
    ] {
        let heard = app.emails_to(&email_of(app, token).await).await;
        assert_eq!(subjects(&heard, "Closing soon"), expected);
    }
}

/// A product photo of `org` uploaded and checked (`ready`) unless `send`
/// is false (then only granted: `pending`); returns its asset id.
pub(crate) async fn photo(app: &TestApp, token: &str, org: &str, send: bool) -> String {
    let bytes = crate::assets::png(16, 16);
    let grant = app
        .request_upload(
            token,
            &json!({"purpose": "product_image", "contentType": "image/png", "size": bytes.len(), "orgId": org, "fileName": "crate.png"}),
        )
        .await;
    let grant = grant.assert_ok(StatusCode::CREATED).clone();
    let id = text(&grant["assetId"]);
    if send {
        assert_eq!(app.upload_with(&grant, &bytes).await, 200);
        app.ingest(&id).await;
    }
    id
}

#[tokio::test]
async fn suppliers_attach_their_own_checked_files_which_the_buyer_reads_after_closing() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let (d, d_org) = m.supplier("Delta", Offer::default()).await;
    let rfq = m.draft().await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let own = photo(app, &a, &a_org, true).await;
    let pending = photo(app, &a, &a_org, false).await;
    let theirs = photo(app, &d, &d_org, true).await;

    let mut body = proposal(240, 500);
    body["attachments"] = json!([theirs, pending, own, own, "nope"]);
    let refused = app.propose(Method::POST, &a, &a_org, &rfq, &body).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        fields(&refused),
        [
            "attachments[0]",
            "attachments[1]",
            "attachments[3]",
            "attachments[4]"
        ]
    );
    body["attachments"] = json!([own]);
    let sent = app.propose(Method::POST, &a, &a_org, &rfq, &body).await;
    let sent = sent.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(sent["attachments"], json!([own]));
    let proposal_id = text(&sent["id"]);
    app.proposal_attachment(&m.buyer, &m.buyer_org, &rfq, &proposal_id, &own)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let ranked = app.rfq_proposals(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(
        ranked.assert_ok(StatusCode::OK)[0]["attachments"],
        json!([own])
    );
    let file = app
        .proposal_attachment(&m.buyer, &m.buyer_org, &rfq, &proposal_id, &own)
        .await;
    let file = file.assert_ok(StatusCode::OK);
    assert_eq!(file["fileName"], "crate.png");
    let (status, bytes) =
        bodega_tests::http_request("GET", file["downloadUrl"].as_str().unwrap(), &[], &[]).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, crate::assets::png(16, 16), "the supplier's file");
    for response in [
        app.proposal_attachment(&m.buyer, &m.buyer_org, &rfq, &proposal_id, &theirs)
            .await,
        app.proposal_attachment(&m.buyer, &m.buyer_org, &rfq, "nope", &own)
            .await,
        app.proposal_attachment(&a, &m.buyer_org, &rfq, &proposal_id, &own)
            .await,
        app.proposal_attachment(&a, &a_org, &rfq, &proposal_id, &own)
            .await,
    ] {
        response.assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
}

#[tokio::test]
async fn awarded_orders_ship_to_a_saved_address_and_only_cold_chain_ones_alert() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let dock = app
        .new_address(
            &m.buyer,
            &bodega_tests::org_addresses(&m.buyer_org),
            "Loading dock",
        )
        .await;
    let mut body = m.rfq_body();
    body["delivery"]["coldChain"] = json!(false);
    for wrong in ["01JDC1NOPE0000000000000000", "a#b"] {
        body["delivery"]["addressId"] = json!(wrong);
        let refused = app.create_rfq(&m.buyer, &m.buyer_org, &body).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert_eq!(fields(&refused), ["delivery.addressId"]);
    }
    body["delivery"]["addressId"] = dock["id"].clone();
    let rfq = m.draft_of(&body).await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let sent = app
        .propose(Method::POST, &a, &a_org, &rfq, &proposal(240, 500))
        .await;
    let proposal_id = text(&sent.assert_ok(StatusCode::CREATED)["id"]);
    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let whole = json!({"awards": [{"proposalId": proposal_id, "lines": [{"rfqLineId": "L1", "quantity": 500}]}]});
    let awarded = app
        .award_rfq(&m.buyer, &m.buyer_org, &rfq, &whole, None)
        .await;
    let order_id = text(&awarded.assert_ok(StatusCode::CREATED)["orders"][0]["orderId"]);
    let order = app.order(&m.buyer, &order_id).await;
    let order = order.assert_ok(StatusCode::OK);
    assert_eq!(order["shippingAddress"]["name"], "Loading dock");
    assert_eq!(order["shippingAddress"]["line1"], "Hauptstraße 5");
    assert_eq!(order["shippingAddress"]["postalCode"], "10115");
    assert_eq!(order["sourcedFrom"]["coldChain"], false);

    // Not a cold-chain order: an excursion is logged, nobody is alerted.
    app.mark_invoice_paid(&m.admin, &order_id)
        .await
        .assert_ok(StatusCode::OK);
    let excursion = json!({"type": "temperature_excursion", "status": "actual", "at": time_in(0), "temperatureC": 12.0});
    app.record_milestone(&a, &a_org, &order_id, &excursion)
        .await
        .assert_ok(StatusCode::CREATED);
    app.drain_stream().await;
    let heard = app.emails_to(&m.buyer_email).await;
    assert_eq!(
        subjects(&heard, "Temperature excursion"),
        Vec::<String>::new()
    );

    // A buyer with no saved address in the delivery country cannot award.
    let other = app.signed_in_as(&unique_email("nomad")).await;
    let other_org = app.new_org(&other, "buyer").await;
    m.verify(&other_org).await;
    let rfq = app
        .create_rfq(&other, &other_org, &m.rfq_body())
        .await
        .assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish_rfq(&other, &other_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let sent = app
        .propose(Method::POST, &a, &a_org, &rfq, &proposal(240, 500))
        .await;
    let proposal_id = text(&sent.assert_ok(StatusCode::CREATED)["id"]);
    app.close_rfq(&other, &other_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    let whole = json!({"awards": [{"proposalId": proposal_id, "lines": [{"rfqLineId": "L1", "quantity": 500}]}]});
    let refused = app.award_rfq(&other, &other_org, &rfq, &whole, None).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        text(&refused.body["error"]["fields"]["awards"][0]).contains("no saved address"),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn a_large_candidate_set_is_matched_in_the_background() {
    // Above one candidate, matching runs in the worker.
    let m = Market::open_with(|c| c.sourcing_background_matching_above = 1).await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    m.supplier("Delta", Offer::default()).await;
    let rfq = m.draft().await;
    let published = app.publish_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(
        published.assert_ok(StatusCode::ACCEPTED)["status"],
        "matching"
    );
    // Until the worker ran: nobody is invited, nothing is accepted.
    assert_eq!(
        app.rfq_invitations(&a, &a_org)
            .await
            .assert_ok(StatusCode::OK),
        &json!([])
    );
    app.get_rfq(&a, &a_org, &rfq)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.close_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    let worker = sourcing::SourcingState::new(&app.services);
    let handled = devserver::pumps::drain_matching_queue(&worker)
        .await
        .unwrap();
    assert_eq!(handled, 1);
    let seen = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    let seen = seen.assert_ok(StatusCode::OK).clone();
    assert_eq!(seen["status"], "published");
    assert_eq!(seen["matching"]["candidates"], 2);
    assert_eq!(seen["matching"]["qualified"], 2);
    let invitations = app.rfq_invitations(&a, &a_org).await;
    assert_eq!(
        invitations.assert_ok(StatusCode::OK)[0]["rfqId"],
        rfq.as_str()
    );
    let a_heard = app.emails_to(&email_of(app, &a).await).await;
    assert_eq!(
        subjects(&a_heard, "Request for quotation"),
        ["Request for quotation: Tomatoes for the winter menu"]
    );

    // The same message again publishes nothing twice.
    // (the sample worker event, bound to this RFQ).
    let mut again: sourcing::worker::SqsEvent = serde_json::from_value(
        bodega_tests::sample_events()["sourcing/worker-matching-batch.json"].clone(),
    )
    .expect("the sample is an SQS event");
    again.records[0].body = again.records[0]
        .body
        .replace("01JDD0BUYER000000000000000", &m.buyer_org)
        .replace("01JDD0RFQ00000000000000000", &rfq);
    let response = sourcing::worker::handle_batch(&worker, again).await;
    assert!(response.batch_item_failures.is_empty());
    let after = app.get_rfq(&m.buyer, &m.buyer_org, &rfq).await;
    assert_eq!(after.assert_ok(StatusCode::OK)["version"], seen["version"]);
    let audit = app.org_audit(&m.buyer, &m.buyer_org, "?limit=100").await;
    let actions: Vec<&str> = audit
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .filter(|a| a.starts_with("rfq.matching") || *a == "rfq.published")
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    // The request only learnt that there were more than the limit.
    let queued = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "rfq.matching_queued")
        .unwrap();
    assert_eq!(queued["details"]["candidatesMoreThan"], 1, "{queued}");
}

/// Mass assignment (OWASP API3): a proposal's status, and what it wins, are
/// the buyer's and the schedule's to set. A supplier that sends them is
/// refused by name and nothing is stored; the award is the buyer
/// organization's route, which a supplier cannot reach.
#[tokio::test]
async fn a_supplier_cannot_set_its_proposals_status_nor_award_itself() {
    let m = Market::open().await;
    let app = &m.app;
    let (a, a_org) = m.supplier("Alpha", Offer::default()).await;
    let rfq = m.draft().await;
    app.publish_rfq(&m.buyer, &m.buyer_org, &rfq)
        .await
        .assert_ok(StatusCode::OK);
    for (field, value) in [
        ("status", json!("awarded")),
        ("revision", json!(7)),
        ("supplierOrgId", json!(m.buyer_org)),
    ] {
        let mut body = proposal(240, 500);
        body[field] = value;
        let refused = app.propose(Method::POST, &a, &a_org, &rfq, &body).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert_eq!(fields(&refused), [field], "{}", refused.body);
    }
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    assert!(
        own.assert_ok(StatusCode::OK)
            .get("proposal")
            .is_none_or(Value::is_null),
        "nothing was submitted: {}",
        own.body
    );

    app.propose(Method::POST, &a, &a_org, &rfq, &proposal(240, 500))
        .await
        .assert_ok(StatusCode::CREATED);
    let mut revised = proposal(230, 500);
    revised["status"] = json!("awarded");
    let refused = app.propose(Method::PUT, &a, &a_org, &rfq, &revised).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(fields(&refused), ["status"]);
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    let stored = &own.assert_ok(StatusCode::OK)["proposal"];
    assert_eq!(stored["status"], "submitted");
    assert_eq!(stored["revision"], 1);
    assert_eq!(stored["lines"][0]["unitPrice"], 240);

    // Awarding is the buyer's: a seller organization does not award (403,
    // or 404 as the request is not its own), and the buyer's organization
    // is a stranger's to the supplier (404).
    let award = json!({"awards": [{"proposalId": stored["id"], "lines": [{"rfqLineId": "L1", "quantity": 500}]}]});
    let own_org = app.award_rfq(&a, &a_org, &rfq, &award, None).await;
    assert!(
        matches!(
            own_org.status,
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        ),
        "{} {}",
        own_org.status,
        own_org.body
    );
    app.award_rfq(&a, &m.buyer_org, &rfq, &award, None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let own = app.get_rfq(&a, &a_org, &rfq).await;
    assert_eq!(
        own.assert_ok(StatusCode::OK)["proposal"]["status"],
        "submitted"
    );
}
