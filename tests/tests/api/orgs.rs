//! Organizations, members and invitations: the journeys, the owner rules,
//! optimistic locking, and tenant isolation on every org endpoint.

use axum::http::{Method, StatusCode};
use bodega_tests::{Auth, TestApp, spawn_app, unique_email};
use serde_json::{Value, json};

fn actions(audit: &Value) -> Vec<&str> {
    audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_creator_owns_the_new_org_and_sees_it_in_their_list() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let created = app
        .create_org(
            &owner,
            &json!({"kind": "both", "name": " Acme ", "legalName": "Acme GmbH", "country": "de"}),
        )
        .await;
    let org = created.assert_ok(StatusCode::CREATED).clone();
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!(org["name"], "Acme");
    assert_eq!(org["country"], "DE");
    assert_eq!(org["verification"]["businessVerified"], false);
    let id = org["id"].as_str().unwrap();

    let mine = app.my_orgs(&owner).await;
    let list = mine.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["org"]["id"], id);
    assert_eq!(list[0]["orgRole"], "owner");
    let permissions = list[0]["permissions"].as_array().unwrap();
    assert!(permissions.contains(&json!("member:manage")));
    assert!(permissions.contains(&json!("product:write")));
    assert!(!permissions.contains(&json!("org:verify")));

    let read = app.get_org(&owner, id).await;
    assert_eq!(read.assert_ok(StatusCode::OK)["id"], id);
    assert_eq!(read.headers["etag"], "\"1\"");

    // Someone else's list does not show it.
    let other = app.signed_in_as("oscar@example.com").await;
    assert_eq!(
        app.my_orgs(&other).await.assert_ok(StatusCode::OK),
        &json!([])
    );
}

#[tokio::test]
async fn invite_accept_change_roles_and_remove_journey() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "seller").await;

    let bob_email = unique_email("bob");
    let bob = app.signed_in_as(&bob_email).await;
    let invited = app
        .invite(&owner, &org, &bob_email, "member", &["seller"])
        .await;
    let invitation = invited.assert_ok(StatusCode::CREATED);
    assert_eq!(invitation["email"], bob_email.as_str());
    assert!(invitation.get("token").is_none(), "{invitation}");

    // Before accepting, Bob is a stranger to the org.
    app.get_org(&bob, &org)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let code = app.invitation_token_for(&bob_email).await;
    let joined = app.accept_invitation(&bob, &code).await;
    let member = joined.assert_ok(StatusCode::OK);
    assert_eq!(member["orgRole"], "member");
    assert_eq!(member["capabilities"], json!(["seller"]));
    let bob_id = member["userId"].as_str().unwrap().to_owned();
    assert!(
        member["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("product:write"))
    );

    // Bob now sees the org and its members, but cannot manage them.
    app.get_org(&bob, &org).await.assert_ok(StatusCode::OK);
    let members = app.members(&bob, &org).await;
    assert_eq!(
        members.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        2
    );
    app.api_keys(&bob, &org)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // The owner makes Bob an admin and approver: now he manages keys.
    let changed = app
        .update_member(
            &owner,
            &org,
            &bob_id,
            &json!({"orgRole": "admin", "capabilities": ["approver", "seller"]}),
        )
        .await;
    let member = changed.assert_ok(StatusCode::OK);
    assert_eq!(member["orgRole"], "admin");
    assert_eq!(member["capabilities"], json!(["seller", "approver"]));
    app.api_keys(&bob, &org).await.assert_ok(StatusCode::OK);

    // Removed, Bob is a stranger again.
    let removed = app.remove_member(&owner, &org, &bob_id).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    app.get_org(&bob, &org)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        app.my_orgs(&bob).await.assert_ok(StatusCode::OK),
        &json!([])
    );

    // Every step is in the audit trail, newest first, with actor and request id.
    let audit = app.org_audit(&owner, &org, "").await;
    let events = audit.assert_ok(StatusCode::OK);
    assert_eq!(
        actions(events),
        [
            "member.removed",
            "member.role_changed",
            "invitation.accepted",
            "invitation.created",
            "org.created"
        ]
    );
    let owner_id = app.user_id(&owner).await;
    assert_eq!(events[0]["actor"], format!("user:{owner_id}"));
    assert_eq!(events[0]["target"], format!("user:{bob_id}"));
    assert_eq!(events[1]["details"]["to"]["orgRole"], "admin");
    assert_eq!(events[2]["actor"], format!("user:{bob_id}"));
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["requestId"].as_str().unwrap().is_empty())
    );
    assert!(
        !events.to_string().contains(&code),
        "the token is never audited"
    );
}

#[tokio::test]
async fn an_invitation_works_once_for_the_invited_email_only() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "buyer").await;
    let bob_email = unique_email("bob");
    app.invite(&owner, &org, &bob_email, "member", &["buyer"])
        .await
        .assert_ok(StatusCode::CREATED);
    let code = app.invitation_token_for(&bob_email).await;

    let mallory = app.signed_in_as(&unique_email("mallory")).await;
    app.accept_invitation(&mallory, &code)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.accept_invitation(&mallory, &"0".repeat(64))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    let bob = app.signed_in_as(&bob_email).await;
    app.accept_invitation(&bob, &code)
        .await
        .assert_ok(StatusCode::OK);
    app.accept_invitation(&bob, &code)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get_org(&mallory, &org)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "buyer").await;
    let bob_email = unique_email("bob");
    let bob = app.signed_in_as(&bob_email).await;
    app.invite(&owner, &org, &bob_email, "member", &[])
        .await
        .assert_ok(StatusCode::CREATED);
    let code = app.invitation_token_for(&bob_email).await;

    // Age the invitation past its expiry (TTL deletes lazily, so the item
    // may still be there: the code must check the time itself).
    let hash = shared::crypto::hash_secret(&code);
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    app.set_stored_attribute(
        &format!("INVITATION#{hash}"),
        "INVITATION",
        "ttl",
        aws_sdk_dynamodb::types::AttributeValue::N(past.to_string()),
    )
    .await;
    app.accept_invitation(&bob, &code)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn the_last_owner_cannot_leave_or_be_demoted() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let owner_id = app.user_id(&owner).await;
    let org = app.new_org(&owner, "both").await;

    app.remove_member(&owner, &org, &owner_id)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    app.update_member(&owner, &org, &owner_id, &json!({"orgRole": "admin"}))
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // An admin cannot touch the owner role at all.
    let (admin, admin_id) = app
        .joins_org(&owner, &org, &unique_email("ada"), "admin", &[])
        .await;
    app.update_member(&admin, &org, &owner_id, &json!({"orgRole": "member"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.update_member(&admin, &org, &admin_id, &json!({"orgRole": "owner"}))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.remove_member(&admin, &org, &owner_id)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.invite(&admin, &org, &unique_email("eve"), "owner", &[])
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // With a second owner, the first may step down, then leave.
    app.update_member(&owner, &org, &admin_id, &json!({"orgRole": "owner"}))
        .await
        .assert_ok(StatusCode::OK);
    app.update_member(&owner, &org, &owner_id, &json!({"orgRole": "admin"}))
        .await
        .assert_ok(StatusCode::OK);
    let left = app.remove_member(&owner, &org, &owner_id).await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.body);
    // ... and the one who remains is the last owner.
    app.remove_member(&admin, &org, &admin_id)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let audit = app.org_audit(&admin, &org, "").await;
    assert_eq!(actions(audit.assert_ok(StatusCode::OK))[0], "member.left");
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "seller").await;
    let etag = app.get_org(&owner, &org).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();

    let first = app
        .update_org(&owner, &org, &json!({"name": "Acme Europe"}), Some(&etag))
        .await;
    assert_eq!(first.assert_ok(StatusCode::OK)["name"], "Acme Europe");
    assert_eq!(first.headers["etag"], "\"2\"");

    let stale = app
        .update_org(&owner, &org, &json!({"name": "Lost Update"}), Some(&etag))
        .await;
    stale.assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    app.update_org(
        &owner,
        &org,
        &json!({"name": "Garbage"}),
        Some("not-an-etag"),
    )
    .await
    .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let now = app.get_org(&owner, &org).await;
    assert_eq!(now.assert_ok(StatusCode::OK)["name"], "Acme Europe");

    // Without If-Match the change applies to whatever is current.
    let blind = app
        .update_org(&owner, &org, &json!({"taxId": "DE999"}), None)
        .await;
    assert_eq!(blind.assert_ok(StatusCode::OK)["version"], 3);
}

#[tokio::test]
async fn only_a_platform_admin_sets_verification_and_nobody_mass_assigns_it() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let fields =
        json!({"kind": "seller", "name": "Acme", "legalName": "Acme GmbH", "country": "DE"});
    for (field, value) in [
        ("id", json!("chosen")),
        (
            "verification",
            json!({"businessVerified": true, "taxIdVerified": true}),
        ),
        ("ownerCount", json!(99)),
        ("version", json!(42)),
    ] {
        let mut sneaky = fields.clone();
        sneaky[field] = value;
        let refused = app.create_org(&owner, &sneaky).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{}",
            refused.body
        );
    }
    let created = app.create_org(&owner, &fields).await;
    let org = created.assert_ok(StatusCode::CREATED).clone();
    let id = org["id"].as_str().unwrap();
    assert_eq!(org["verification"]["businessVerified"], false);
    assert_eq!(org["version"], 1);

    for (field, value) in [
        ("kind", json!("buyer")),
        ("verification", json!({"businessVerified": true})),
    ] {
        let mut sneaky = json!({"name": "Acme 2"});
        sneaky[field] = value;
        let refused = app.update_org(&owner, id, &sneaky, None).await;
        refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
        assert!(
            refused.body["error"]["fields"].get(field).is_some(),
            "{}",
            refused.body
        );
    }
    let stored = app
        .call(Method::GET, &format!("/v1/orgs/{id}"), Some(&owner), None)
        .await;
    let stored = stored.assert_ok(StatusCode::OK);
    assert_eq!(stored["name"], "Acme");
    assert_eq!(stored["kind"], "seller");
    assert_eq!(stored["verification"]["businessVerified"], false);
    assert_eq!(stored["version"], 1);

    let flags = json!({"businessVerified": true, "taxIdVerified": false});
    app.set_verification(&owner, id, &flags)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    app.register("root@example.com", bodega_tests::PASSWORD, "Root")
        .await
        .assert_ok(StatusCode::CREATED);
    let admin = app.promote_to_platform_admin("root@example.com").await;
    let verified = app.set_verification(&admin, id, &flags).await;
    let verified = verified.assert_ok(StatusCode::OK);
    assert_eq!(verified["verification"]["businessVerified"], true);
    assert_eq!(verified["verification"]["taxIdVerified"], false);
    // A platform admin can read any org, but not run it.
    app.get_org(&admin, id).await.assert_ok(StatusCode::OK);
    app.update_org(&admin, id, &json!({"name": "Hijacked"}), None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let audit = app.org_audit(&owner, id, "").await;
    assert_eq!(
        actions(audit.assert_ok(StatusCode::OK))[0],
        "org.verification_changed"
    );
}

#[tokio::test]
async fn invalid_input_is_422_with_every_field_named() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let bad = json!({"kind": "wholesale", "name": "  ", "legalName": "", "taxId": "<script>", "country": "XX"});
    let response = app.create_org(&owner, &bad).await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &response.body["error"]["fields"];
    for field in ["kind", "name", "legalName", "taxId", "country"] {
        assert!(fields[field].is_array(), "{field} missing in {fields}");
    }

    let org = app.new_org(&owner, "buyer").await;
    let response = app
        .invite(&owner, &org, "not-an-email", "boss", &["seller", "wizard"])
        .await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &response.body["error"]["fields"];
    for field in ["email", "orgRole", "capabilities"] {
        assert!(fields[field].is_array(), "{field} missing in {fields}");
    }
    assert_eq!(
        fields["capabilities"].as_array().unwrap().len(),
        2,
        "{fields}"
    );

    let response = app
        .update_org(
            &owner,
            &org,
            &json!({"name": "", "country": "Germany"}),
            None,
        )
        .await;
    response.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(response.body["error"]["fields"]["country"].is_array());
    app.update_org(&owner, &org, &json!({}), None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
}

#[tokio::test]
async fn the_audit_trail_pages_newest_first_and_refuses_foreign_cursors() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let org = app.new_org(&owner, "both").await;
    for _ in 0..2 {
        app.invite(&owner, &org, &unique_email("x"), "member", &[])
            .await
            .assert_ok(StatusCode::CREATED);
    }
    let first = app.org_audit(&owner, &org, "?limit=2").await;
    let page = first.assert_ok(StatusCode::OK);
    assert_eq!(actions(page), ["invitation.created", "invitation.created"]);
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .org_audit(&owner, &org, &format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(actions(second.assert_ok(StatusCode::OK)), ["org.created"]);
    assert!(second.body["pagination"].get("nextCursor").is_none());

    app.org_audit(&owner, &org, "?cursor=forged")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    // A cursor of this org's trail does not open another org's trail.
    let other = app.new_org(&owner, "both").await;
    app.org_audit(&owner, &other, &format!("?limit=2&cursor={cursor}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

/// Every org-scoped endpoint, with what it needs: (method, path, body).
fn org_endpoints(org: &str, member: &str, key: &str) -> Vec<(Method, String, Option<Value>)> {
    let o = format!("/v1/orgs/{org}");
    vec![
        (Method::GET, o.clone(), None),
        (
            Method::PATCH,
            o.clone(),
            Some(json!({"name": "Taken Over"})),
        ),
        (
            Method::PUT,
            format!("{o}/verification"),
            Some(json!({"businessVerified": true, "taxIdVerified": true})),
        ),
        (
            Method::POST,
            format!("{o}/invitations"),
            Some(json!({"email": "eve@example.com", "orgRole": "admin"})),
        ),
        (Method::GET, format!("{o}/members"), None),
        (
            Method::PATCH,
            format!("{o}/members/{member}"),
            Some(json!({"orgRole": "member"})),
        ),
        (Method::DELETE, format!("{o}/members/{member}"), None),
        (
            Method::POST,
            format!("{o}/api-keys"),
            Some(json!({"name": "x", "permissions": ["org:read"]})),
        ),
        (Method::GET, format!("{o}/api-keys"), None),
        (Method::DELETE, format!("{o}/api-keys/{key}"), None),
        (Method::GET, format!("{o}/audit"), None),
    ]
}

async fn expect_everywhere(
    app: &TestApp,
    endpoints: &[(Method, String, Option<Value>)],
    auth: Auth<'_>,
    (status, code): (StatusCode, &str),
    who: &str,
) {
    for (method, path, body) in endpoints {
        let response = app
            .request(method.clone(), path, auth, body.as_ref(), &[])
            .await;
        assert_eq!(
            (response.status, response.error_code()),
            (status, code),
            "{who}: {method} {path} answered {}",
            response.body
        );
        assert!(
            response.body["data"].is_null(),
            "{who}: {method} {path} leaked {}",
            response.body
        );
    }
}

#[tokio::test]
async fn strangers_get_404_and_members_without_the_permission_403_on_every_org_endpoint() {
    let app = spawn_app().await;
    let owner = app.signed_in_as("olivia@example.com").await;
    let owner_id = app.user_id(&owner).await;
    let org = app.new_org(&owner, "seller").await;
    let (_, key_prefix) = app.new_api_key(&owner, &org, &["org:read"]).await;
    let endpoints = org_endpoints(&org, &owner_id, &key_prefix);

    // A signed-in stranger, the owner of another org and that org's key
    // (by either header) see nothing; nor does anyone for an org id that
    // does not exist.
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    let rival = app.signed_in_as(&unique_email("rival")).await;
    let rival_org = app.new_org(&rival, "seller").await;
    let everything = [
        "org:read",
        "org:manage",
        "member:read",
        "member:manage",
        "apikey:manage",
        "audit:read",
    ];
    let (rival_key, _) = app.new_api_key(&rival, &rival_org, &everything).await;
    let ghost = org_endpoints("01JD8X3Q4Z5Y6W7V8T9S0R1P2N", &owner_id, &key_prefix);
    for (who, auth, endpoints) in [
        ("stranger", Auth::Bearer(&stranger), &endpoints),
        ("rival owner", Auth::Bearer(&rival), &endpoints),
        ("rival key", Auth::Bearer(&rival_key), &endpoints),
        (
            "rival key header",
            Auth::ApiKeyHeader(&rival_key),
            &endpoints,
        ),
        ("unknown org", Auth::Bearer(&owner), &ghost),
    ] {
        let not_found = (StatusCode::NOT_FOUND, "NOT_FOUND");
        expect_everywhere(&app, endpoints, auth, not_found, who).await;
    }

    // A plain member (org:read and member:read only) is refused the rest;
    // removing someone else is refused too (leaving is not).
    let (member, _) = app
        .joins_org(&owner, &org, &unique_email("plain"), "member", &[])
        .await;
    let (readable, managed): (Vec<_>, Vec<_>) =
        endpoints.iter().cloned().partition(|(method, path, _)| {
            *method == Method::GET && (path.ends_with(&org) || path.ends_with("/members"))
        });
    assert_eq!(readable.len(), 2);
    expect_everywhere(
        &app,
        &managed,
        Auth::Bearer(&member),
        (StatusCode::FORBIDDEN, "FORBIDDEN"),
        "plain member",
    )
    .await;
    for (method, path, _) in &readable {
        app.request(method.clone(), path, Auth::Bearer(&member), None, &[])
            .await
            .assert_ok(StatusCode::OK);
    }
    // A key without org:read or member:read is refused even those two.
    let (narrow_key, _) = app.new_api_key(&owner, &org, &["product:read"]).await;
    expect_everywhere(
        &app,
        &endpoints,
        Auth::ApiKeyHeader(&narrow_key),
        (StatusCode::FORBIDDEN, "FORBIDDEN"),
        "narrow key",
    )
    .await;

    // Nothing above changed anything.
    let org_now = app.get_org(&owner, &org).await;
    assert_eq!(org_now.assert_ok(StatusCode::OK)["version"], 1);
    let members = app.members(&owner, &org).await;
    assert_eq!(
        members.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let first = app.signed_in_as("olivia@example.com").await;
    let first_id = app.user_id(&first).await;
    let org = app.new_org(&first, "both").await;
    let (second, second_id) = app
        .joins_org(&first, &org, &unique_email("otto"), "owner", &[])
        .await;

    let demote = json!({"orgRole": "admin"});
    let (a, b) = futures::join!(
        app.update_member(&first, &org, &second_id, &demote),
        app.update_member(&second, &org, &first_id, &demote),
    );
    let succeeded = [&a, &b]
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert!(
        succeeded <= 1,
        "both demotions went through: {} {}",
        a.body,
        b.body
    );
    for response in [&a, &b].into_iter().filter(|r| r.status != StatusCode::OK) {
        response.assert_error(StatusCode::CONFLICT, "CONFLICT");
    }
    let members = app.members(&first, &org).await;
    let owners = members
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["orgRole"] == "owner")
        .count();
    assert_eq!(owners, 2 - succeeded);
}
