//! The mail context: templates, previews, versions, approvals, sending.

use axum::http::{Method, StatusCode};
use bodega_tests::{Auth, TestApp, TestResponse, spawn_app, unique_email};
use serde_json::{Value, json};

/// The mail endpoints, one method each.
pub(crate) trait MailApi {
    async fn mail(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse;
}

impl MailApi for TestApp {
    async fn mail(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        self.call(method, path, Some(token), body).await
    }
}

pub(crate) fn templates(org: &str) -> String {
    format!("/v1/orgs/{org}/templates")
}

pub(crate) fn template_path(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/templates/{id}")
}

fn version_path(org: &str, id: &str, n: u64) -> String {
    format!("/v1/orgs/{org}/templates/{id}/versions/{n}")
}

/// An order email with a string and an html variable, as MJML.
pub(crate) fn order_template() -> Value {
    json!({
        "name": "Order shipped",
        "category": "transactional",
        "tags": ["Orders", "shipping"],
        "subject": "Order {{ orderNumber }} for {{ firstName }}",
        "format": "mjml",
        "body": "<mjml><mj-head><mj-style inline=\"inline\">.hi { color: #336699; }</mj-style></mj-head>\
                 <mj-body><mj-section><mj-column>\
                 <mj-text css-class=\"hi\">Hello {{ firstName }}, order {{ orderNumber }} ships today.</mj-text>\
                 <mj-text>{{ note }}</mj-text>\
                 </mj-column></mj-section></mj-body></mjml>",
        "variables": [
            { "name": "firstName", "type": "string", "required": true, "description": "The buyer's first name" },
            { "name": "orderNumber", "type": "string", "required": true },
            { "name": "note", "type": "html", "default": "<p>Thanks!</p>" }
        ]
    })
}

/// An org with an owner, and its members by role: (owner token, org id).
pub(crate) struct Team {
    pub(crate) org: String,
    pub(crate) owner: String,
    /// Editor who is also an approver of step 1: refused on their own work.
    pub(crate) editor: String,
    pub(crate) editor_id: String,
    pub(crate) approver1: String,
    pub(crate) approver1_id: String,
    pub(crate) approver1_email: String,
    pub(crate) approver2: String,
    pub(crate) approver2_id: String,
    pub(crate) approver2_email: String,
    pub(crate) viewer: String,
    pub(crate) manager: String,
}

pub(crate) async fn team(app: &TestApp) -> Team {
    let owner = app.signed_in_as(&unique_email("owner")).await;
    let org = app.new_org(&owner, "both").await;
    let (editor, editor_id) = app
        .joins_org(
            &owner,
            &org,
            &unique_email("editor"),
            "member",
            &["editor", "approver"],
        )
        .await;
    let approver1_email = unique_email("legal");
    let (approver1, approver1_id) = app
        .joins_org(&owner, &org, &approver1_email, "member", &["approver"])
        .await;
    let approver2_email = unique_email("brand");
    let (approver2, approver2_id) = app
        .joins_org(&owner, &org, &approver2_email, "member", &["approver"])
        .await;
    let (viewer, _) = app
        .joins_org(&owner, &org, &unique_email("viewer"), "member", &["viewer"])
        .await;
    let (manager, _) = app
        .joins_org(&owner, &org, &unique_email("manager"), "admin", &[])
        .await;
    Team {
        org,
        owner,
        editor,
        editor_id,
        approver1,
        approver1_id,
        approver1_email,
        approver2,
        approver2_id,
        approver2_email,
        viewer,
        manager,
    }
}

pub(crate) async fn create(app: &TestApp, token: &str, org: &str, body: &Value) -> String {
    app.mail(Method::POST, token, &templates(org), Some(body))
        .await
        .assert_ok(StatusCode::CREATED)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn two_step_policy(app: &TestApp, t: &Team) {
    let policy = json!({
        "steps": [
            { "name": "Legal", "users": [t.approver1_id, t.editor_id], "rule": "any" },
            { "name": "Brand", "users": [t.approver2_id], "rule": "all" }
        ]
    });
    let path = format!("/v1/orgs/{}/approval-policy", t.org);
    app.mail(Method::PUT, &t.viewer, &path, Some(&policy))
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    let set = app
        .mail(Method::PUT, &t.manager, &path, Some(&policy))
        .await;
    assert_eq!(set.assert_ok(StatusCode::OK)["steps"][1]["rule"], "all");
    assert_eq!(set.headers["etag"], "\"1\"");
}

async fn approve(app: &TestApp, token: &str, org: &str, id: &str, n: u64) -> TestResponse {
    app.mail(
        Method::POST,
        token,
        &format!("{}/approve", version_path(org, id, n)),
        Some(&json!({})),
    )
    .await
}

/// Both steps approve version `n`.
async fn approve_both(app: &TestApp, t: &Team, id: &str, n: u64) -> Value {
    approve(app, &t.approver1, &t.org, id, n)
        .await
        .assert_ok(StatusCode::OK);
    approve(app, &t.approver2, &t.org, id, n)
        .await
        .assert_ok(StatusCode::OK)
        .clone()
}

pub(crate) async fn send(
    app: &TestApp,
    token: &str,
    org: &str,
    id: &str,
    body: &Value,
) -> TestResponse {
    app.mail(
        Method::POST,
        token,
        &format!("{}/send", template_path(org, id)),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_template_is_reviewed_in_order_activated_sent_and_rolled_back() {
    let app = spawn_app().await;
    let t = team(&app).await;
    two_step_policy(&app, &t).await;

    // The editor writes and previews.
    let id = create(&app, &t.editor, &t.org, &order_template()).await;
    let preview = app
        .mail(
            Method::POST,
            &t.editor,
            &format!("{}/preview", template_path(&t.org, &id)),
            Some(&json!({ "data": { "firstName": "Ada", "orderNumber": "A-7" } })),
        )
        .await;
    let preview = preview.assert_ok(StatusCode::OK);
    assert_eq!(preview["rendered"]["subject"], "Order A-7 for Ada");
    let html = preview["rendered"]["html"].as_str().unwrap();
    assert!(html.contains("Hello Ada, order A-7 ships today."), "{html}");
    assert!(
        html.contains("color:#336699") || html.contains("color: #336699"),
        "CSS is inlined: {html}"
    );
    assert!(
        preview["rendered"]["text"]
            .as_str()
            .unwrap()
            .contains("Hello Ada")
    );
    assert_eq!(preview["suggestedSample"]["note"], "<p>Thanks!</p>");
    assert_eq!(preview["errors"], json!([]));

    // Submit: version 1 in review at step 1.
    let submitted = app
        .mail(
            Method::POST,
            &t.editor,
            &format!("{}/submit", template_path(&t.org, &id)),
            None,
        )
        .await;
    let v1 = submitted.assert_ok(StatusCode::CREATED);
    assert_eq!(v1["number"], 1);
    assert_eq!(v1["status"], "in_review");
    assert_eq!(v1["currentStep"], 0);
    assert_eq!(v1["contentHash"].as_str().unwrap().len(), 64);
    // Step 1's approvers are emailed (through the platform email queue);
    // step 2's approver is not, yet.
    let requested = app
        .only_email_to(&t.approver1_email, "Review requested")
        .await;
    assert!(
        requested.body.contains("(step \"Legal\")"),
        "{}",
        requested.body
    );
    assert!(
        !app.emails_to(&t.approver2_email)
            .await
            .iter()
            .any(|m| m.subject.starts_with("Review requested")),
        "step 2 is not reached yet"
    );
    // Nothing changed: a second submit has nothing to freeze.
    app.mail(
        Method::POST,
        &t.editor,
        &format!("{}/submit", template_path(&t.org, &id)),
        None,
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Nobody approves their own work; step 2 waits for step 1.
    let own = approve(&app, &t.editor, &t.org, &id, 1).await;
    own.assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    assert!(
        own.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("own work")
    );
    approve(&app, &t.approver2, &t.org, &id, 1)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");

    // The inbox shows each approver what they may decide now.
    let inbox = |token: String| {
        let app = &app;
        let org = t.org.clone();
        async move {
            app.mail(
                Method::GET,
                &token,
                &format!("/v1/orgs/{org}/approvals?assigned=me"),
                None,
            )
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .len()
        }
    };
    assert_eq!(inbox(t.approver1.clone()).await, 1);
    assert_eq!(inbox(t.approver2.clone()).await, 0);
    assert_eq!(inbox(t.editor.clone()).await, 0);

    let step1 = approve(&app, &t.approver1, &t.org, &id, 1).await;
    assert_eq!(step1.assert_ok(StatusCode::OK)["currentStep"], 1);
    approve(&app, &t.approver1, &t.org, &id, 1)
        .await
        .assert_error(StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(inbox(t.approver2.clone()).await, 1);
    let step2 = approve(&app, &t.approver2, &t.org, &id, 1).await;
    let step2 = step2.assert_ok(StatusCode::OK);
    assert_eq!(step2["status"], "active");
    assert_eq!(step2["decisions"].as_array().unwrap().len(), 2);
    let template = app
        .mail(Method::GET, &t.viewer, &template_path(&t.org, &id), None)
        .await;
    assert_eq!(template.assert_ok(StatusCode::OK)["status"], "active");
    assert_eq!(template.body["data"]["activeVersion"], 1);

    // Send: the rendered subject and body arrive, the data escaped.
    let to = unique_email("buyer");
    let sent = send(
        &app,
        &t.approver1,
        &t.org,
        &id,
        &json!({ "to": to, "data": { "firstName": "<script>alert(1)</script>", "orderNumber": "A-7" } }),
    )
    .await;
    let message = sent.assert_ok(StatusCode::OK);
    assert_eq!(message["templateVersion"], 1);
    assert_eq!(message["status"], "sent");
    let mails = app.emails_to(&to).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "Order A-7 for <script>alert(1)</script>");
    assert!(
        mails[0].body.contains("&lt;script&gt;alert(1)"),
        "{}",
        mails[0].body
    );
    assert!(!mails[0].body.contains("<script>"));

    // An edit makes no version, and send still uses version 1.
    let etag = template.headers["etag"].to_str().unwrap().to_owned();
    let edit = json!({ "subject": "Shipped: {{ orderNumber }}" });
    let edited = app
        .request(
            Method::PATCH,
            &template_path(&t.org, &id),
            Auth::Bearer(&t.editor),
            Some(&edit),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        edited.assert_ok(StatusCode::OK)["changedSinceVersion"],
        true
    );
    app.request(
        Method::PATCH,
        &template_path(&t.org, &id),
        Auth::Bearer(&t.editor),
        Some(&edit),
        &[("if-match", &etag)],
    )
    .await
    .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let versions = app
        .mail(
            Method::GET,
            &t.viewer,
            &format!("{}/versions", template_path(&t.org, &id)),
            None,
        )
        .await;
    assert_eq!(
        versions.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );
    let again = unique_email("buyer");
    send(
        &app,
        &t.approver1,
        &t.org,
        &id,
        &json!({ "to": again, "data": { "firstName": "Lin", "orderNumber": "B-2" } }),
    )
    .await
    .assert_ok(StatusCode::OK);
    assert_eq!(app.emails_to(&again).await[0].subject, "Order B-2 for Lin");

    // Version 2: a rejection needs a comment; then changes are requested.
    app.mail(
        Method::POST,
        &t.editor,
        &format!("{}/submit", template_path(&t.org, &id)),
        None,
    )
    .await
    .assert_ok(StatusCode::CREATED);
    let reject = format!("{}/reject", version_path(&t.org, &id, 2));
    app.mail(Method::POST, &t.approver1, &reject, Some(&json!({})))
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let rejected = app
        .mail(
            Method::POST,
            &t.approver1,
            &reject,
            Some(&json!({ "comment": "Keep the buyer's name in the subject" })),
        )
        .await;
    assert_eq!(
        rejected.assert_ok(StatusCode::OK)["status"],
        "changes_requested"
    );

    // Version 3 is approved and active; a manager rolls back to version 1.
    app.mail(
        Method::POST,
        &t.editor,
        &format!("{}/submit", template_path(&t.org, &id)),
        None,
    )
    .await
    .assert_ok(StatusCode::CREATED);
    assert_eq!(approve_both(&app, &t, &id, 3).await["status"], "active");
    let v1_now = app
        .mail(Method::GET, &t.viewer, &version_path(&t.org, &id, 1), None)
        .await;
    assert_eq!(v1_now.assert_ok(StatusCode::OK)["status"], "superseded");
    let activate = format!("{}/activate", version_path(&t.org, &id, 1));
    app.mail(Method::POST, &t.approver1, &activate, None)
        .await
        .assert_error(StatusCode::FORBIDDEN, "FORBIDDEN");
    app.mail(
        Method::POST,
        &t.manager,
        &format!("{}/activate", version_path(&t.org, &id, 2)),
        None,
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");
    let rolled = app.mail(Method::POST, &t.manager, &activate, None).await;
    assert_eq!(rolled.assert_ok(StatusCode::OK)["status"], "active");
    let v3 = app
        .mail(Method::GET, &t.viewer, &version_path(&t.org, &id, 3), None)
        .await;
    assert_eq!(v3.assert_ok(StatusCode::OK)["status"], "superseded");
    let back = unique_email("buyer");
    send(
        &app,
        &t.approver1,
        &t.org,
        &id,
        &json!({ "to": back, "data": { "firstName": "Lin", "orderNumber": "C-3" } }),
    )
    .await
    .assert_ok(StatusCode::OK);
    assert_eq!(app.emails_to(&back).await[0].subject, "Order C-3 for Lin");

    // The history and the audit trail tell the story.
    let history = app
        .mail(
            Method::GET,
            &t.viewer,
            &format!("{}/versions", template_path(&t.org, &id)),
            None,
        )
        .await;
    let statuses: Vec<&str> = history
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["superseded", "changes_requested", "active"]);
    let audit = app.org_audit(&t.owner, &t.org, "?limit=100").await;
    let actions: Vec<&str> = audit
        .assert_ok(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "template.created",
        "template.updated",
        "template.submitted",
        "template_version.approved",
        "template_version.rejected",
        "template_version.activated",
        "approval_policy.updated",
        "mail.sent",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let messages = app
        .mail(
            Method::GET,
            &t.viewer,
            &format!("/v1/orgs/{}/messages", t.org),
            None,
        )
        .await;
    assert_eq!(
        messages.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn undeclared_variables_block_submit_and_missing_data_is_named() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("owner")).await;
    let org = app.new_org(&owner, "seller").await;
    let mut body = order_template();
    body["body"] = json!("<p>Hi {{ firstName }}, your total is {{ total }}.</p>");
    body["format"] = json!("html");
    let id = create(&app, &owner, &org, &body).await;
    let submit = app
        .mail(
            Method::POST,
            &owner,
            &format!("{}/submit", template_path(&org, &id)),
            None,
        )
        .await;
    submit.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        submit.body["error"]["fields"]["body"][0]
            .as_str()
            .unwrap()
            .contains("`total`"),
        "{}",
        submit.body
    );
    app.mail(
        Method::POST,
        &owner,
        &format!("{}/send", template_path(&org, &id)),
        Some(&json!({ "to": unique_email("x") })),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "CONFLICT");

    // Declared: with no policy, a submit is approved and active at once.
    let mut variables = body["variables"].as_array().unwrap().clone();
    variables.push(json!({ "name": "total", "type": "number", "required": true }));
    app.mail(
        Method::PATCH,
        &owner,
        &template_path(&org, &id),
        Some(&json!({ "variables": variables })),
    )
    .await
    .assert_ok(StatusCode::OK);
    let submitted = app
        .mail(
            Method::POST,
            &owner,
            &format!("{}/submit", template_path(&org, &id)),
            None,
        )
        .await;
    assert_eq!(submitted.assert_ok(StatusCode::CREATED)["status"], "active");
    let missing = send(
        &app,
        &owner,
        &org,
        &id,
        &json!({ "to": unique_email("x"), "data": { "orderNumber": "1", "total": "lots" } }),
    )
    .await;
    missing.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &missing.body["error"]["fields"];
    assert_eq!(fields["data.firstName"][0], "is required", "{fields}");
    assert_eq!(fields["data.total"][0], "must be a number", "{fields}");
}

#[tokio::test]
async fn templates_that_reach_outside_or_loop_forever_are_refused() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("owner")).await;
    let org = app.new_org(&owner, "buyer").await;
    let bodies = [
        ("html", "{% include '/etc/passwd' %}"),
        (
            "mjml",
            "<mjml><mj-body><mj-include path=\"/etc/passwd\" /></mj-body></mjml>",
        ),
        (
            "html",
            "<html><head><link rel=\"stylesheet\" href=\"https://cdn.example/x.css\"></head><body>x</body></html>",
        ),
        (
            "html",
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        ),
        ("html", "{{ firstName|safe }}"),
    ];
    for (format, source) in bodies {
        let mut body = order_template();
        body["format"] = json!(format);
        body["body"] = json!(source);
        let id = create(&app, &owner, &org, &body).await;
        let preview = app
            .mail(
                Method::POST,
                &owner,
                &format!("{}/preview", template_path(&org, &id)),
                Some(&json!({})),
            )
            .await;
        let preview = preview.assert_ok(StatusCode::OK);
        assert!(preview["rendered"].is_null(), "{source}: {preview}");
        assert_eq!(preview["errors"][0]["part"], "body", "{source}: {preview}");
        app.mail(
            Method::POST,
            &owner,
            &format!("{}/submit", template_path(&org, &id)),
            None,
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    }
    // A syntax error says where.
    let mut body = order_template();
    body["format"] = json!("html");
    body["body"] = json!("<p>line one</p>\n<p>{{ firstName </p>");
    let id = create(&app, &owner, &org, &body).await;
    let preview = app
        .mail(
            Method::POST,
            &owner,
            &format!("{}/preview", template_path(&org, &id)),
            Some(&json!({})),
        )
        .await;
    assert_eq!(
        preview.assert_ok(StatusCode::OK)["errors"][0]["line"],
        2,
        "{}",
        preview.body
    );
}

#[tokio::test]
async fn other_orgs_see_nothing_and_viewers_change_nothing() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let id = create(&app, &t.editor, &t.org, &order_template()).await;
    let stranger = app.signed_in_as(&unique_email("stranger")).await;
    app.new_org(&stranger, "both").await;
    let tp = template_path(&t.org, &id);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, templates(&t.org), None),
        (Method::POST, templates(&t.org), Some(order_template())),
        (Method::GET, tp.clone(), None),
        (Method::PATCH, tp.clone(), Some(json!({ "name": "x" }))),
        (Method::DELETE, tp.clone(), None),
        (Method::POST, format!("{tp}/preview"), Some(json!({}))),
        (Method::POST, format!("{tp}/submit"), None),
        (Method::GET, format!("{tp}/versions"), None),
        (Method::GET, format!("{tp}/versions/1"), None),
        (
            Method::POST,
            format!("{tp}/versions/1/approve"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("{tp}/versions/1/reject"),
            Some(json!({ "comment": "no" })),
        ),
        (Method::POST, format!("{tp}/versions/1/withdraw"), None),
        (Method::POST, format!("{tp}/versions/1/activate"), None),
        (Method::GET, format!("/v1/orgs/{}/approvals", t.org), None),
        (
            Method::GET,
            format!("/v1/orgs/{}/approval-policy", t.org),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/orgs/{}/approval-policy", t.org),
            Some(json!({ "steps": [] })),
        ),
        (
            Method::POST,
            format!("{tp}/send"),
            Some(json!({ "to": "a@example.com" })),
        ),
        (
            Method::POST,
            format!("{tp}/test-send"),
            Some(json!({ "to": "a@example.com" })),
        ),
        (Method::GET, format!("/v1/orgs/{}/messages", t.org), None),
    ];
    for (method, path, body) in &routes {
        app.mail(method.clone(), &stranger, path, body.as_ref())
            .await
            .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
        if *method != Method::GET && !path.ends_with("/preview") {
            let answer = app
                .mail(method.clone(), &t.viewer, path, body.as_ref())
                .await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "viewer {method} {path}: {}",
                answer.body
            );
        }
    }
    // A template id of another org is no template here.
    let other_org = app.new_org(&t.owner, "both").await;
    app.mail(Method::GET, &t.owner, &template_path(&other_org, &id), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn templates_are_listed_by_status_category_and_tag_page_by_page() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("owner")).await;
    let org = app.new_org(&owner, "both").await;
    let first = create(&app, &owner, &org, &order_template()).await;
    let mut news = order_template();
    news["category"] = json!("marketing");
    news["tags"] = json!(["newsletter"]);
    let second = create(&app, &owner, &org, &news).await;
    let third = create(&app, &owner, &org, &order_template()).await;
    app.mail(
        Method::POST,
        &owner,
        &format!("{}/submit", template_path(&org, &third)),
        None,
    )
    .await
    .assert_ok(StatusCode::CREATED);
    app.mail(Method::DELETE, &owner, &template_path(&org, &first), None)
        .await;
    let ids = |response: TestResponse| -> Vec<String> {
        response
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |query: &str| {
        let path = format!("{}{query}", templates(&org));
        let (app, owner) = (&app, owner.clone());
        async move { app.mail(Method::GET, &owner, &path, None).await }
    };
    assert_eq!(ids(list("").await), vec![third.clone(), second.clone()]);
    assert_eq!(ids(list("?category=marketing").await), vec![second.clone()]);
    assert_eq!(ids(list("?tag=orders").await), vec![third.clone()]);
    assert_eq!(ids(list("?status=active").await), vec![third.clone()]);
    assert_eq!(ids(list("?status=archived").await), vec![first.clone()]);
    let page = list("?limit=1").await;
    let cursor = page.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ids(page), vec![third]);
    let rest = list(&format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(ids(rest), vec![second]);
    list("?cursor=forged")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    list("?status=nonsense")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_send_with_an_idempotency_key_is_delivered_and_recorded_once() {
    let app = spawn_app().await;
    let t = team(&app).await;
    let id = create(&app, &t.editor, &t.org, &order_template()).await;
    app.mail(
        Method::POST,
        &t.editor,
        &format!("{}/submit", template_path(&t.org, &id)),
        None,
    )
    .await
    .assert_ok(StatusCode::CREATED);
    let to = unique_email("buyer");
    let body = json!({ "to": to, "data": { "firstName": "Ada", "orderNumber": "9" }, "idempotencyKey": "order-9" });
    let first = send(&app, &t.approver1, &t.org, &id, &body).await;
    let second = send(&app, &t.approver1, &t.org, &id, &body).await;
    assert_eq!(
        first.assert_ok(StatusCode::OK)["id"],
        second.assert_ok(StatusCode::OK)["id"]
    );
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(app.emails_to(&to).await.len(), 1);
    let messages = app
        .mail(
            Method::GET,
            &t.viewer,
            &format!("/v1/orgs/{}/messages", t.org),
            None,
        )
        .await;
    assert_eq!(
        messages.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        1
    );
    // The same key with other data is refused, not sent.
    let other = json!({ "to": to, "data": { "firstName": "Eve", "orderNumber": "9" }, "idempotencyKey": "order-9" });
    send(&app, &t.approver1, &t.org, &id, &other)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");

    // Test sends go to members only, marked [TEST], and may use the draft.
    let test_send = format!("{}/test-send", template_path(&t.org, &id));
    app.mail(
        Method::POST,
        &t.editor,
        &test_send,
        Some(&json!({ "to": unique_email("outsider") })),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let me = app.me(&t.approver2).await.body["data"]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let tested = app
        .mail(
            Method::POST,
            &t.editor,
            &test_send,
            Some(&json!({ "to": me })),
        )
        .await;
    assert_eq!(tested.assert_ok(StatusCode::OK)["test"], true);
    let last = app.emails_to(&me).await.pop().unwrap();
    assert!(last.subject.starts_with("[TEST] Order"), "{}", last.subject);
}
