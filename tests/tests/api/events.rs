//! Every sample event in events/ goes through the real handler, the way the
//! Lambda runtime calls it, so a broken sample fails CI.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, spawn_app, unique_email};
use lambda_http::request::LambdaRequest;
use lambda_http::{Context, LambdaEvent, Service};
use serde_json::{Value, json};

/// The API Gateway samples (stream and S3 samples have their own tests).
fn sample_events() -> BTreeMap<String, Value> {
    let mut events = bodega_tests::sample_events();
    events.retain(|_, event| event.get("routeKey").is_some());
    events
}

/// Runs an API Gateway event through the Lambda adapter; returns the status
/// and the parsed body of the Lambda response.
async fn invoke(app: &TestApp, event: &Value) -> (u16, Value) {
    let request: LambdaRequest =
        serde_json::from_value(event.clone()).expect("an API Gateway event");
    let mut adapter = lambda_http::Adapter::from(app.router.clone());
    let response = adapter
        .call(LambdaEvent::new(request, Context::default()))
        .await
        .expect("the handler is infallible");
    let response = serde_json::to_value(&response).unwrap();
    let status = response["statusCode"].as_u64().expect("a status code") as u16;
    let body = response["body"]
        .as_str()
        .filter(|b| !b.is_empty())
        .map(|b| serde_json::from_str(b).expect("a JSON body"))
        .unwrap_or(Value::Null);
    (status, body)
}

/// The samples as a session would send them: each placeholder (an access
/// token, a code from an email) and each sample id (an org, a product, an
/// order, ...) stands for something real the journey made first. See
/// events/README.md.
struct Journey {
    app: TestApp,
    events: BTreeMap<String, Value>,
    /// Sample text → the real value it stands for.
    bound: Vec<(String, String)>,
    ran: Vec<String>,
}

impl Journey {
    /// What `sample` stands for now (itself when unbound).
    fn real(&self, sample: &str) -> String {
        self.bound
            .iter()
            .find(|(from, _)| from == sample)
            .map_or_else(|| sample.to_owned(), |(_, to)| to.clone())
    }

    /// From now on, `sample` in any sample stands for `real`.
    fn bind(&mut self, sample: &str, real: impl Into<String>) {
        self.bound.retain(|(from, _)| from != sample);
        self.bound.push((sample.to_owned(), real.into()));
    }

    /// Sends the sample `name` as `token`'s holder, checks the status and
    /// the request id, and returns the envelope's data.
    async fn run(&mut self, name: &str, token: Option<&str>, status: u16) -> Value {
        let mut text = self
            .events
            .get(name)
            .unwrap_or_else(|| panic!("events/{name} is missing"))
            .to_string();
        for (from, to) in &self.bound {
            text = text.replace(from.as_str(), to);
        }
        if let Some(token) = token {
            text = text.replace(ACCESS_TOKEN, token);
        }
        let event: Value = serde_json::from_str(&text).expect("the bound sample is JSON");
        let (got, body) = invoke(&self.app, &event).await;
        assert_eq!(got, status, "events/{name}: {body}");
        if let Some(meta) = body.get("meta") {
            assert_eq!(
                meta["requestId"], event["requestContext"]["requestId"],
                "events/{name}: API Gateway's request id"
            );
        }
        self.ran.push(name.to_owned());
        body["data"].clone()
    }
}

const ACCESS_TOKEN: &str = "REPLACE_WITH_ACCESS_TOKEN";
const EMAIL_CODE: &str = "REPLACE_WITH_CODE_FROM_EMAIL";

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

/// Ada writes a template; Grace (an approver) signs its versions off. The
/// version samples name version 1; later versions are bound in turn.
async fn mail_journey(j: &mut Journey, org: &str, ada: &str, grace: &str) {
    j.run("mail/approval-policy-put.json", Some(ada), 200).await;
    j.run("mail/approval-policy-get.json", Some(ada), 200).await;
    let template = j.run("mail/template-create.json", Some(ada), 201).await;
    let template_id = text(&template["id"]);
    j.bind("01JDC0TEMPLATE000000000000", template_id.as_str());
    j.run("mail/templates-list.json", Some(ada), 200).await;
    j.run("mail/template-get.json", Some(ada), 200).await;
    j.run("mail/template-update.json", Some(ada), 200).await;
    j.run("mail/template-preview.json", Some(ada), 200).await;
    let version = j.run("mail/template-submit.json", Some(ada), 201).await;
    assert_eq!(version["number"], 1, "{version}");
    j.run("mail/template-versions.json", Some(ada), 200).await;
    j.run("mail/template-version-get.json", Some(ada), 200)
        .await;
    j.run("mail/approvals-inbox.json", Some(grace), 200).await;
    j.run("mail/template-version-approve.json", Some(grace), 200)
        .await;
    j.run("mail/template-send.json", Some(ada), 200).await;
    j.run("mail/template-test-send.json", Some(ada), 200).await;
    j.run("mail/messages-list.json", Some(ada), 200).await;
    // A bulk send (queued for the worker), Ada's one-click unsubscribe from
    // the org's mail, and a manager lifting it again.
    let send = j.run("mail/sends-create.json", Some(ada), 202).await;
    j.bind("01JD8Z5M6N7P8Q9R0S1T2V3W4X", text(&send["id"]));
    j.run("mail/send-get.json", Some(ada), 200).await;
    let ada_email = j.real("ada@example.com");
    j.bind("ada%40example.com", ada_email.replace('@', "%40"));
    let url = mail::suppressions::unsubscribe_url(&j.app.services.signing, "", org, &ada_email);
    let token = url.rsplit('/').next().unwrap().to_owned();
    j.bind("REPLACE_WITH_THE_TOKEN_OF_A_LIST_UNSUBSCRIBE_URL", token);
    j.run("mail/unsubscribe.json", None, 200).await;
    let suppressed = j.run("mail/suppressions-list.json", Some(ada), 200).await;
    assert!(suppressed.to_string().contains(&ada_email), "{suppressed}");
    j.run("mail/suppression-remove.json", Some(ada), 200).await;
    // Version 2 is approved too; rolling back activates version 1 again.
    let path = format!("/v1/orgs/{org}/templates/{template_id}");
    let version = edit_and_submit(j, &path, ada, "Shipped: {{ orderNumber }}").await;
    assert_eq!(version["number"], 2, "{version}");
    at_version(j, 2);
    j.run("mail/template-version-approve.json", Some(grace), 200)
        .await;
    at_version(j, 1);
    let active = j
        .run("mail/template-version-activate.json", Some(ada), 200)
        .await;
    assert_eq!(active["status"], "active", "{active}");
    // Version 3 is sent back; version 4 is withdrawn by Ada.
    edit_and_submit(j, &path, ada, "Sent: {{ orderNumber }}").await;
    at_version(j, 3);
    j.run("mail/template-version-reject.json", Some(grace), 200)
        .await;
    edit_and_submit(j, &path, ada, "Out: {{ orderNumber }}").await;
    at_version(j, 4);
    j.run("mail/template-version-withdraw.json", Some(ada), 200)
        .await;
    j.run("mail/template-archive.json", Some(ada), 204).await;
}

const AUTHENTICATOR_CODE: &str = "REPLACE_WITH_AUTHENTICATOR_CODE";

/// Ada sets up an authenticator app, signs in with its code, makes new
/// recovery codes and turns two-factor sign-in off again. Each code is of
/// a time step of its own.
async fn mfa_journey(j: &mut Journey, ada: &str) {
    let status = j.run("identity/mfa-status.json", Some(ada), 200).await;
    assert_eq!(status["enabled"], false, "{status}");
    let started = j.run("identity/mfa-totp-start.json", Some(ada), 201).await;
    let authenticator = bodega_tests::Authenticator::from_base32(&text(&started["secret"]));
    j.bind(AUTHENTICATOR_CODE, j.app.code_now(&authenticator));
    let confirmed = j
        .run("identity/mfa-totp-confirm.json", Some(ada), 200)
        .await;
    assert_eq!(confirmed["recoveryCodes"].as_array().unwrap().len(), 10);
    let challenge = j.run("identity/login.json", None, 200).await;
    assert_eq!(challenge["mfaRequired"], true, "{challenge}");
    j.bind(
        "REPLACE_WITH_THE_CHALLENGE_OF_LOGIN",
        text(&challenge["challenge"]),
    );
    for sample in [
        "identity/login-mfa.json",
        "identity/mfa-recovery-codes.json",
        "identity/mfa-remove.json",
    ] {
        j.app.clock.advance(std::time::Duration::from_secs(30));
        j.bind(AUTHENTICATOR_CODE, j.app.code_now(&authenticator));
        let token = (sample != "identity/login-mfa.json").then_some(ada);
        let answer = j.run(sample, token, 200).await;
        assert!(!answer.is_null(), "events/{sample}");
    }
}

/// The version samples name version `n` from now on.
/// Ada designs a dress; it is drawn, shown, edited, liked by Grace and
/// found in the gallery, then deleted.
async fn studio_journey(j: &mut Journey, ada: &str, grace: &str) {
    let design = j.run("studio/design-create.json", Some(ada), 202).await;
    j.bind("01JDD0DES1GN00000000000000", text(&design["id"]));
    assert_eq!(j.app.drain_generations().await, 1);
    let shown = j.run("studio/design-get.json", Some(ada), 200).await;
    assert_eq!(shown["status"], "ready", "{shown}");
    j.run("studio/design-update.json", Some(ada), 200).await;
    j.run("studio/my-designs.json", Some(ada), 200).await;
    let liked = j.run("studio/design-like.json", Some(grace), 200).await;
    assert_eq!(liked["likes"], 1);
    let gallery = j.run("studio/gallery.json", None, 200).await;
    assert_eq!(gallery[0]["id"], design["id"]);
    j.run("studio/design-unlike.json", Some(grace), 200).await;
    j.run("studio/design-delete.json", Some(ada), 204).await;
}

/// A design of Ada's that Grace reports and a platform admin holds for
/// review, then clears.
async fn design_moderation_journey(j: &mut Journey, ada: &str, grace: &str, admin: &str) {
    let design = j.run("studio/design-create.json", Some(ada), 202).await;
    j.bind("01JDD0DES1GN00000000000000", text(&design["id"]));
    assert_eq!(j.app.drain_generations().await, 1);
    j.run("studio/design-report.json", Some(grace), 201).await;
    let held = j.run("studio/design-hide.json", Some(admin), 200).await;
    assert_eq!(held["heldForReview"], true, "{held}");
    j.run("studio/design-clear.json", Some(admin), 200).await;
    j.run("studio/design-delete.json", Some(ada), 204).await;
}

/// An address book's samples (`<prefix>-add.json`, `<prefix>es-list.json`,
/// ...): add binds the sample address id, the update's If-Match is the
/// added entry's ETag, the removal's the updated one's.
async fn address_book_journey(j: &mut Journey, token: &str, prefix: &str) {
    let saved = j.run(&format!("{prefix}-add.json"), Some(token), 201).await;
    j.bind("01JDC1ADDRESS0000000000000", text(&saved["id"]));
    j.run(&format!("{prefix}es-list.json"), Some(token), 200)
        .await;
    j.run(&format!("{prefix}-update.json"), Some(token), 200)
        .await;
    j.run(&format!("{prefix}-remove.json"), Some(token), 204)
        .await;
}

fn at_version(j: &mut Journey, n: u32) {
    j.bind("/versions/1/", format!("/versions/{n}/"));
    j.bind("\"n\":\"1\"", format!("\"n\":\"{n}\""));
}

/// A new subject for the draft, then its next version.
async fn edit_and_submit(j: &mut Journey, path: &str, token: &str, subject: &str) -> Value {
    j.app
        .call(
            Method::PATCH,
            path,
            Some(token),
            Some(&json!({ "subject": subject })),
        )
        .await
        .assert_ok(StatusCode::OK);
    j.run("mail/template-submit.json", Some(token), 201).await
}

/// A verified buyer asks Ada's org (a seller listing in the category) for a
/// quotation. The samples' dates are bound to times relative to now.
async fn sourcing_journey(j: &mut Journey, org: &str, ada: &str, admin: &str) {
    let day = 24 * 3600;
    let at = |secs: i64| shared::domain::epoch_to_rfc3339(shared::domain::now_epoch() + secs);
    let date = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .date()
            .to_string()
    };
    j.bind("2027-02-20T12:00:00Z", at(2 * day));
    j.bind("2027-03-05T12:00:00Z", at(10 * day));
    j.bind("2027-02-23T12:00:00Z", at(5 * day));
    j.bind("2027-03-10", date(19));
    j.bind("2027-03-12", date(21));
    j.bind("2027-04-30", date(60));
    j.app
        .update_org(
            ada,
            org,
            &json!({"supply": {"deliveryCountries": ["DE"], "leadTimeDays": 5}}),
            None,
        )
        .await
        .assert_ok(StatusCode::OK);
    let buyer = j.app.signed_in_as(&unique_email("hopper")).await;
    let buyer_org = j.app.new_org(&buyer, "buyer").await;
    j.app
        .set_verification(
            admin,
            &buyer_org,
            &json!({"businessVerified": true, "taxIdVerified": true}),
        )
        .await
        .assert_ok(StatusCode::OK);
    j.bind("01JDD0BUYER000000000000000", buyer_org.as_str());
    j.app
        .new_address(
            &buyer,
            &bodega_tests::org_addresses(&buyer_org),
            "Hopper Canteen",
        )
        .await;
    let rfq = j.run("sourcing/rfq-create.json", Some(&buyer), 201).await;
    j.bind("01JDD0RFQ00000000000000000", text(&rfq["id"]));
    j.run("sourcing/rfqs-list.json", Some(&buyer), 200).await;
    j.run("sourcing/rfq-update.json", Some(&buyer), 200).await;
    let published = j.run("sourcing/rfq-publish.json", Some(&buyer), 200).await;
    assert_eq!(published["matching"]["qualified"], 1, "{published}");
    j.run("sourcing/rfq-matches.json", Some(&buyer), 200).await;
    j.run("sourcing/rfq-get.json", Some(&buyer), 200).await;
    let invitations = j
        .run("sourcing/invitations-list.json", Some(ada), 200)
        .await;
    assert_eq!(invitations[0]["rfqId"], rfq["id"]);
    let attachment = crate::sourcing::photo(&j.app, ada, org, true).await;
    j.bind("01JDD0ATTACHMENT0000000000", attachment);
    let proposal = j.run("sourcing/proposal-submit.json", Some(ada), 201).await;
    j.bind("01JDD0PROPOSAL000000000000", text(&proposal["id"]));
    j.run("sourcing/proposal-revise.json", Some(ada), 200).await;
    j.run("sourcing/message-post.json", Some(ada), 201).await;
    let thread = j.run("sourcing/messages-list.json", Some(ada), 200).await;
    assert_eq!(thread[0]["from"], "supplier", "{thread}");
    let amendment = j
        .run("sourcing/amendment-create.json", Some(&buyer), 201)
        .await;
    assert_eq!(amendment["number"], 1, "{amendment}");
    let amendments = j.run("sourcing/amendments-list.json", Some(ada), 200).await;
    assert_eq!(amendments[0]["changes"][0]["field"], "closesAt");
    j.run("sourcing/proposal-withdraw.json", Some(ada), 200)
        .await;
    j.run("sourcing/proposal-submit.json", Some(ada), 201).await;
    // A proposal stands: withdraw it before declining.
    j.run("sourcing/invitation-decline.json", Some(ada), 409)
        .await;
    j.run("sourcing/rfq-close.json", Some(&buyer), 200).await;
    j.run("sourcing/rfq-proposals.json", Some(&buyer), 200)
        .await;
    let file = j
        .run("sourcing/proposal-attachment.json", Some(&buyer), 200)
        .await;
    assert!(file["downloadUrl"].is_string(), "{file}");
    let shortlisted = j
        .run("sourcing/proposals-shortlist.json", Some(&buyer), 200)
        .await;
    assert_eq!(shortlisted[0]["status"], "shortlisted", "{shortlisted}");
    let award = j.run("sourcing/rfq-award.json", Some(&buyer), 201).await;
    assert_eq!(award["status"], "awarded", "{award}");
}

#[tokio::test]
async fn every_sample_event_reaches_its_handlers_work() {
    let app = spawn_app().await;
    let mut j = Journey {
        app,
        events: sample_events(),
        bound: Vec::new(),
        ran: Vec::new(),
    };
    let admin_email = unique_email("admin");
    j.app.signed_in_as(&admin_email).await;
    let admin = j.app.promote_to_platform_admin(&admin_email).await;

    // Moto's mailbox is shared: the samples' addresses become fresh ones.
    let (ada_email, grace_email) = (unique_email("ada"), unique_email("grace"));
    j.bind("ada@example.com", ada_email.as_str());
    j.bind("grace@example.com", grace_email.as_str());

    // Ada registers, signs in and looks after her account.
    j.run("identity/register.json", None, 201).await;
    let session = j.run("identity/login.json", None, 200).await;
    let ada = text(&session["accessToken"]);
    let ada = ada.as_str();
    j.run("identity/jwks.json", None, 200).await;
    j.run("identity/me.json", Some(ada), 200).await;
    j.run("identity/update-me.json", Some(ada), 200).await;
    j.run("identity/verify-email-resend.json", Some(ada), 202)
        .await;
    let code = j.app.emails_to(&ada_email).await.pop().unwrap().code();
    j.bind(EMAIL_CODE, code);
    j.run("identity/verify-email.json", None, 200).await;
    j.run("identity/my-audit.json", Some(ada), 200).await;
    address_book_journey(&mut j, ada, "identity/address").await;
    // Her public creator profile.
    j.run("identity/my-profile.json", Some(ada), 200).await;
    let profile = j
        .run("identity/my-profile-update.json", Some(ada), 200)
        .await;
    assert_eq!(profile["handle"], "ada-prints", "{profile}");
    let public = j.run("identity/profile-get.json", None, 200).await;
    assert_eq!(public["displayName"], "Ada's Prints", "{public}");
    mfa_journey(&mut j, ada).await;

    // Her company, its members and keys.
    let org = text(&j.run("identity/org-create.json", Some(ada), 201).await["id"]);
    j.bind("01JD8X3Q4Z5Y6W7V8T9S0R1P2N", org.as_str());
    j.bind("01JDA0ORG00000000000000000", org.as_str());
    j.run("identity/org-list.json", Some(ada), 200).await;
    j.run("identity/org-get.json", Some(ada), 200).await;
    j.run("identity/org-update.json", Some(ada), 200).await;
    j.run("identity/org-verification.json", Some(&admin), 200)
        .await;
    let grace = j.app.signed_in_as(&grace_email).await;
    j.run("identity/invitation-create.json", Some(ada), 201)
        .await;
    let invitation = j.app.invitation_token_for(&grace_email).await;
    j.bind(
        "REPLACE_WITH_THE_CODE_FROM_THE_INVITATION_EMAIL",
        invitation,
    );
    let joined = j
        .run("identity/invitation-accept.json", Some(&grace), 200)
        .await;
    j.bind("01JD8Y0A1B2C3D4E5F6G7H8J9K", text(&joined["userId"]));
    j.bind("01JDA0USER0000000000000000", text(&joined["userId"]));
    j.run("identity/members-list.json", Some(ada), 200).await;
    // A platform admin makes Grace a moderator, then takes it back.
    j.run("identity/moderator-grant.json", Some(&admin), 200)
        .await;
    j.run("identity/moderator-revoke.json", Some(&admin), 200)
        .await;
    // Grace becomes an admin and an approver: she signs off Ada's templates.
    j.run("identity/member-update.json", Some(ada), 200).await;
    mail_journey(&mut j, &org, ada, &grace).await;
    studio_journey(&mut j, ada, &grace).await;
    design_moderation_journey(&mut j, ada, &grace, &admin).await;
    j.run("identity/member-remove.json", Some(ada), 204).await;
    let key = j.run("identity/api-key-create.json", Some(ada), 201).await;
    j.bind("3f9a0c1d2e4b", text(&key["prefix"]));
    j.run("identity/api-keys-list.json", Some(ada), 200).await;
    j.run("identity/api-key-revoke.json", Some(ada), 204).await;
    address_book_journey(&mut j, ada, "identity/org-address").await;
    j.run("identity/org-audit.json", Some(ada), 200).await;

    // The catalog: a category, products, stock, search and reviews.
    let category = j
        .run("catalog/create-category.json", Some(&admin), 201)
        .await;
    j.bind("01JDA0CATEGORY000000000000", text(&category["id"]));
    j.run("catalog/list-categories.json", None, 200).await;
    j.run("catalog/get-category.json", None, 200).await;
    j.run("catalog/update-category.json", Some(&admin), 200)
        .await;
    let product = j.run("catalog/create-product.json", Some(ada), 201).await;
    j.bind("01JDA1B2C3D4E5F6G7H8J9K0MN", text(&product["id"]));
    let bulk = j
        .run("catalog/bulk-create-products.json", Some(ada), 200)
        .await;
    assert_eq!(bulk["created"], 1, "{bulk}");
    j.bind(
        "01JDA1B2C3D4E5F6G7H8J9K0MP",
        text(&bulk["results"][0]["product"]["id"]),
    );
    let bulk = j
        .run("catalog/bulk-update-products.json", Some(ada), 200)
        .await;
    // The sample's first ETag is stale: that product alone is refused.
    assert_eq!(bulk["updated"], 1, "{bulk}");
    assert_eq!(bulk["results"][0]["status"], 412, "{bulk}");
    assert_eq!(bulk["results"][1]["status"], 200, "{bulk}");
    j.run("catalog/get-product.json", None, 200).await;
    j.run("catalog/list-products.json", None, 200).await;
    j.run("catalog/adjust-stock.json", Some(ada), 200).await;
    j.run("catalog/search.json", None, 200).await;
    j.run("catalog/search-suggest.json", None, 200).await;
    j.run("catalog/search-queries.json", Some(&admin), 200)
        .await;
    j.run("catalog/create-review.json", Some(&grace), 201).await;
    j.run("catalog/update-my-review.json", Some(&grace), 200)
        .await;
    j.run("catalog/list-reviews.json", None, 200).await;
    j.run("catalog/report-review.json", Some(ada), 201).await;
    j.run("catalog/moderation-reports.json", Some(&admin), 200)
        .await;
    j.run("catalog/hide-review.json", Some(&admin), 200).await;
    j.run("catalog/restore-review.json", Some(&admin), 200)
        .await;
    j.run("catalog/delete-my-review.json", Some(&grace), 200)
        .await;
    let current = j.app.get_product(&text(&product["id"])).await;
    let etag = current.headers["etag"]
        .to_str()
        .unwrap()
        .replace('"', "\\\"");
    j.bind("\\\"v1\\\"", etag);
    j.run("catalog/update-product.json", Some(ada), 200).await;
    // A design of Ada's, sold by her org as a t-shirt made to order.
    let sold = j
        .app
        .ready_design(ada, &bodega_tests::design_body("Sold"))
        .await;
    j.bind("01JDD0DES1GN00000000000000", text(&sold["id"]));
    let published = j.run("studio/design-publish.json", Some(ada), 201).await;
    assert_eq!(published["madeToOrder"], true, "{published}");
    // Ada lets her org publish the design (as she could anyway), lists the
    // grant, and takes it back.
    let granted = j.run("studio/design-grant.json", Some(ada), 201).await;
    assert_eq!(granted["designId"], sold["id"], "{granted}");
    let grants = j.run("studio/design-grants.json", Some(ada), 200).await;
    assert_eq!(grants[0]["orgId"], granted["orgId"], "{grants}");
    j.run("studio/design-grant-revoke.json", Some(ada), 204)
        .await;
    // Nothing of it is sold yet: no manufacturing order (the journey of
    // one is tests/tests/api/manufacturing.rs).
    let made = j
        .run("studio/manufacturing-orders-list.json", Some(ada), 200)
        .await;
    assert_eq!(made, json!([]));
    j.run("studio/manufacturing-order-get.json", Some(ada), 404)
        .await;
    // Signed with another webhook's secret: refused before it is read.
    j.run("studio/partner-webhook.json", None, 400).await;
    sourcing_journey(&mut j, &org, ada, &admin).await;

    // Files of the org.
    let upload = j.run("assets/create-upload.json", Some(ada), 201).await;
    j.bind("01JD8X4A5B6C7D8E9F0G1H2J3K", text(&upload["assetId"]));
    j.run("assets/get-asset.json", Some(ada), 200).await;
    j.run("assets/delete-asset.json", Some(ada), 204).await;

    // Joan shops and pays by card; the seller and the admins see the order.
    let joan = j.app.signed_in_as(&unique_email("joan")).await;
    let joan = joan.as_str();
    j.run("orders/cart-add-item.json", Some(joan), 200).await;
    j.run("orders/cart-set-quantity.json", Some(joan), 200)
        .await;
    j.run("orders/cart-get.json", Some(joan), 200).await;
    j.run("orders/cart-remove-item.json", Some(joan), 200).await;
    j.run("orders/cart-add-item.json", Some(joan), 200).await;
    j.run("orders/cart-clear.json", Some(joan), 200).await;
    j.run("orders/cart-add-item.json", Some(joan), 200).await;
    let order = j.run("orders/checkout.json", Some(joan), 201).await;
    j.bind("01JDB4ORDER000000000000000", text(&order["id"]));
    j.run("orders/orders-list.json", Some(joan), 200).await;
    j.run("orders/order-get.json", Some(joan), 200).await;
    j.run("orders/fulfilments-list.json", Some(ada), 200).await;
    j.run("orders/fulfilment-get.json", Some(ada), 200).await;
    j.run("orders/admin-orders.json", Some(&admin), 200).await;
    j.run("orders/admin-stats.json", Some(&admin), 200).await;
    // An unpaid card order: not an invoice to mark paid, nothing to refund
    // or ship yet; the buyer may cancel it.
    j.run("orders/admin-invoice-payment.json", Some(&admin), 409)
        .await;
    j.run("orders/admin-refund.json", Some(&admin), 409).await;
    j.run("orders/fulfilment-status.json", Some(ada), 409).await;
    // A planned milestone is logged on an unpaid order; actual ones wait.
    let logged = j
        .run("orders/fulfilment-milestone.json", Some(ada), 201)
        .await;
    assert_eq!(logged["milestones"][0]["type"], "picked_up", "{logged}");
    j.run("orders/order-cancel.json", Some(joan), 200).await;
    // Signed with another endpoint's secret: refused before it is read.
    j.run("orders/payment-webhook.json", None, 400).await;

    j.run("catalog/archive-product.json", Some(ada), 200).await;
    j.run("platform/health.json", None, 200).await;
    j.run("platform/openapi.json", None, 200).await;

    // Ada's sessions end: rotation, sign-out, a password reset.
    j.bind("REPLACE_WITH_REFRESH_TOKEN", text(&session["refreshToken"]));
    let refreshed = j.run("identity/refresh.json", None, 200).await;
    j.bind(
        "REPLACE_WITH_REFRESH_TOKEN",
        text(&refreshed["refreshToken"]),
    );
    let ada = text(&refreshed["accessToken"]);
    let ada = ada.as_str();
    let sessions = j.run("identity/sessions.json", Some(ada), 200).await;
    j.bind("01M80SC4PTQK2Z601CGYYXPAHZ", text(&sessions[0]["id"]));
    j.run("identity/revoke-session.json", Some(ada), 200).await;
    j.run("identity/logout.json", None, 200).await;
    j.run("identity/logout-all.json", Some(ada), 200).await;
    j.run("identity/password-reset-request.json", None, 202)
        .await;
    let code = j.app.emails_to(&ada_email).await.pop().unwrap().code();
    j.bind(EMAIL_CODE, code);
    j.run("identity/password-reset.json", None, 200).await;
    // The sample's password is the one Joan registered with.
    j.run("identity/delete-me.json", Some(joan), 200).await;

    let missed: Vec<&String> = j.events.keys().filter(|n| !j.ran.contains(n)).collect();
    assert!(
        missed.is_empty(),
        "samples the journey does not send: {missed:?}"
    );
}

#[tokio::test]
async fn the_me_sample_succeeds_with_a_real_token() {
    let app = spawn_app().await;
    let token = app.signed_in_as("ada@example.com").await;
    let mut event = sample_events().remove("identity/me.json").unwrap();
    event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    let (status, body) = invoke(&app, &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "ada@example.com");
}

#[tokio::test]
async fn the_expiry_schedule_sample_runs_the_sweep() {
    let app = spawn_app().await;
    let event = bodega_tests::sample_events()
        .remove("orders/expiry-schedule.json")
        .expect("events/orders/expiry-schedule.json");
    // What the orders-expiry binary receives: a `LambdaEvent<Value>` holding
    // EventBridge's scheduled event, which it does not need to look into.
    let invocation: LambdaEvent<Value> = LambdaEvent::new(
        serde_json::from_value(event).expect("the expiry binary's input"),
        Context::default(),
    );
    assert_eq!(invocation.payload["detail-type"], "Scheduled Event");
    assert_eq!(invocation.payload["source"], "aws.events");
    let report = orders::expiry::sweep(
        &app.services.store,
        &app.services.payments,
        shared::domain::now_epoch(),
    )
    .await
    .expect("the sweep runs on a fresh table");
    assert_eq!(report.due, 0, "{report:?}");
}

#[tokio::test]
async fn the_send_queue_sample_reaches_the_mail_worker() {
    let app = spawn_app().await;
    let event: mail::worker::SqsEvent = serde_json::from_value(
        bodega_tests::sample_events()["mail/worker-send-batch.json"].clone(),
    )
    .expect("the sample is an SQS event");
    let state = mail::MailState::new(&app.services, app.services.signing.clone());
    // Its send's template does not exist on a fresh table: the message is
    // reported failed, for SQS to deliver again, and nothing is sent.
    let response = mail::worker::handle_batch(&state, event.clone(), None).await;
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        event.records[0].message_id
    );
}

#[tokio::test]
async fn the_platform_email_queue_sample_reaches_the_outbox_worker() {
    let app = spawn_app().await;
    let mut event: shared::sqs::SqsEvent =
        serde_json::from_value(bodega_tests::sample_events()["mail/outbox-batch.json"].clone())
            .expect("the sample is an SQS event");
    let to = unique_email("outbox-sample");
    event.records[0].body = event.records[0].body.replace("ada@example.com", &to);
    let worker = mail::outbox::OutboxWorker::new(&app.services);
    let response = mail::outbox::handle_batch(&worker, event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let sent = app.emails_to(&to).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Your password was changed");
}

#[tokio::test]
async fn the_generation_queue_sample_reaches_the_studio_worker() {
    let app = spawn_app().await;
    let event: studio::worker::SqsEvent = serde_json::from_value(
        bodega_tests::sample_events()["studio/worker-generation-batch.json"].clone(),
    )
    .expect("the sample is an SQS event");
    let owner = app.signed_in_as(&unique_email("sampler")).await;
    let created = app
        .create_design(&owner, &bodega_tests::design_body("Sampled"))
        .await;
    let id = created.assert_ok(StatusCode::ACCEPTED)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = event.records[0]
        .body
        .replace("01JDD0DES1GN00000000000000", &id);
    let mut bound = event.clone();
    bound.records[0].body = body;
    let response = studio::worker::handle_batch(&app.studio_state(), bound).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let design = app.get_design(Some(&owner), &id).await;
    assert_eq!(design.assert_ok(StatusCode::OK)["status"], "ready");
    // The sample's own design does not exist: nothing to draw, nothing to retry.
    let response = studio::worker::handle_batch(&app.studio_state(), event).await;
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn the_ses_event_samples_reach_the_mail_events_handler() {
    let app = spawn_app().await;
    for sample in ["mail/ses-bounce.json", "mail/ses-complaint.json"] {
        let event: mail::ses_events::SesEventBridgeEvent =
            serde_json::from_value(bodega_tests::sample_events()[sample].clone())
                .expect("the sample is an SES event from EventBridge");
        mail::ses_events::handle_event(&app.services.store, &event.detail)
            .await
            .unwrap_or_else(|err| panic!("{sample}: {err:?}"));
    }
}
