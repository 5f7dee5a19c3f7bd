//! The platform's own emails (verification, password reset, invitations,
//! security notices, order emails, review requests) are built-in templates
//! on the same pipeline as the organizations' templates: each has a typed
//! variable schema, an MJML body inside one shared layout, and a text part
//! of its own. A context says which email and with what data
//! ([`PlatformEmail`]); rendering checks the data against the schema,
//! escapes every value, and links the action (confirm, reset) as a button.

use serde_json::{Map, Value};

use super::render::{self, BodyFormat, Rendered, Source, Variable, VariableType};
pub use crate::outbox::{EmailLine, PlatformEmail};

/// A built-in template: what an organization's template holds, fixed.
pub struct BuiltIn {
    pub id: &'static str,
    pub subject: &'static str,
    /// The MJML inside the layout's column.
    pub content: &'static str,
    pub text: &'static str,
    pub variables: fn() -> Vec<Variable>,
}

impl BuiltIn {
    /// The whole MJML body: the content inside the shared layout.
    pub fn body(&self) -> String {
        format!("{LAYOUT_HEAD}{}{LAYOUT_FOOT}", self.content)
    }
}

const LAYOUT_HEAD: &str = r##"<mjml>
  <mj-head>
    <mj-attributes>
      <mj-all font-family="Helvetica, Arial, sans-serif" />
      <mj-text color="#1f2937" font-size="15px" line-height="22px" />
      <mj-button background-color="#1d4ed8" color="#ffffff" font-size="15px" border-radius="6px" />
    </mj-attributes>
    <mj-style inline="inline">.muted { color: #6b7280; } .code { font-family: Menlo, Consolas, monospace; }</mj-style>
  </mj-head>
  <mj-body background-color="#f3f4f6">
    <mj-section><mj-column><mj-text font-size="20px" font-weight="bold">Bodega</mj-text></mj-column></mj-section>
    <mj-section background-color="#ffffff" border-radius="8px">
      <mj-column>
"##;

const LAYOUT_FOOT: &str = r##"
      </mj-column>
    </mj-section>
    <mj-section><mj-column><mj-text css-class="muted" font-size="12px">You receive this email because of your Bodega account or one of its organizations. It was sent automatically; replies are not read.</mj-text></mj-column></mj-section>
  </mj-body>
</mjml>"##;

fn var(name: &str, kind: VariableType, required: bool) -> Variable {
    Variable {
        name: name.to_owned(),
        kind,
        required,
        default: None,
        description: None,
    }
}

fn code_email_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("code", VariableType::String, true),
        var("actionUrl", VariableType::Url, false),
    ]
}

fn invitation_variables() -> Vec<Variable> {
    vec![
        var("orgName", VariableType::String, true),
        var("role", VariableType::String, true),
        var("invitedEmail", VariableType::Email, true),
        var("code", VariableType::String, true),
        var("expiresAt", VariableType::Date, true),
    ]
}

fn name_only() -> Vec<Variable> {
    vec![var("name", VariableType::String, true)]
}

fn session_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("device", VariableType::String, true),
    ]
}

fn order_confirmed_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("orderId", VariableType::String, true),
        var("lines", VariableType::List, true),
        var("total", VariableType::String, true),
    ]
}

fn order_shipped_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("orderId", VariableType::String, true),
        var("lines", VariableType::List, true),
        var("carrier", VariableType::String, false),
        var("trackingNumber", VariableType::String, false),
    ]
}

fn order_cancelled_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("orderId", VariableType::String, true),
        var("refunded", VariableType::String, false),
    ]
}

fn rfq_invitation_variables() -> Vec<Variable> {
    vec![
        var("buyerName", VariableType::String, true),
        var("rfqTitle", VariableType::String, true),
        var("city", VariableType::String, true),
        var("windowFrom", VariableType::Date, true),
        var("windowTo", VariableType::Date, true),
        var("closesAt", VariableType::Date, true),
        var("rfqPath", VariableType::String, true),
    ]
}

fn rfq_outcome_variables() -> Vec<Variable> {
    vec![
        var("rfqTitle", VariableType::String, true),
        var("orderId", VariableType::String, false),
    ]
}

fn excursion_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("orderId", VariableType::String, true),
        var("sellerOrgId", VariableType::String, true),
        var("temperature", VariableType::String, true),
        var("at", VariableType::Date, true),
    ]
}

fn content_hidden_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("what", VariableType::String, true),
        var("reason", VariableType::String, true),
    ]
}

fn rfq_amended_variables() -> Vec<Variable> {
    vec![
        var("buyerName", VariableType::String, true),
        var("rfqTitle", VariableType::String, true),
        var("number", VariableType::Number, true),
        var("text", VariableType::String, true),
        var("changes", VariableType::List, true),
        var("closesAt", VariableType::Date, true),
        var("rfqPath", VariableType::String, true),
    ]
}

fn rfq_closing_soon_variables() -> Vec<Variable> {
    vec![
        var("rfqTitle", VariableType::String, true),
        var("closesAt", VariableType::Date, true),
        var("rfqPath", VariableType::String, true),
    ]
}

fn rfq_message_variables() -> Vec<Variable> {
    vec![
        var("rfqTitle", VariableType::String, true),
        var("fromName", VariableType::String, true),
        var("text", VariableType::String, true),
        var("messagesPath", VariableType::String, true),
    ]
}

fn mfa_changed_variables() -> Vec<Variable> {
    vec![
        var("name", VariableType::String, true),
        var("summary", VariableType::String, true),
    ]
}

fn review_variables() -> Vec<Variable> {
    vec![
        var("templateName", VariableType::String, true),
        var("version", VariableType::Number, true),
        var("step", VariableType::String, true),
    ]
}

/// Every built-in template, by id.
pub const BUILT_INS: &[BuiltIn] = &[
    BuiltIn {
        id: "verify_email",
        subject: "Confirm your email address",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>Please confirm that this is your email address.</mj-text>
        {% if actionUrl is defined %}<mj-button href="{{ actionUrl }}">Confirm my email address</mj-button>{% endif %}
        <mj-text>Or enter this code: {{ code }}</mj-text>
        <mj-text css-class="muted">The code works once and expires in 24 hours. If you did not create an account, ignore this email.</mj-text>"##,
        text: "Hello {{ name }},\n\nPlease confirm that this is your email address:\n\n{% if actionUrl is defined %}{{ actionUrl }}\n\nor enter this code: {{ code }}{% else %}Your code: {{ code }}{% endif %}\n\nThe code works once and expires in 24 hours. If you did not create an account, ignore this email.\n",
        variables: code_email_variables,
    },
    BuiltIn {
        id: "reset_password",
        subject: "Reset your password",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>Someone asked to reset the password of your account. To choose a new one:</mj-text>
        {% if actionUrl is defined %}<mj-button href="{{ actionUrl }}">Choose a new password</mj-button>{% endif %}
        <mj-text>Or enter this code: {{ code }}</mj-text>
        <mj-text css-class="muted">The code works once and expires in 30 minutes; using it signs you out everywhere. If it was not you, ignore this email: your password is unchanged.</mj-text>"##,
        text: "Hello {{ name }},\n\nSomeone asked to reset the password of your account. To choose a new one:\n\n{% if actionUrl is defined %}{{ actionUrl }}\n\nor enter this code: {{ code }}{% else %}Your code: {{ code }}{% endif %}\n\nThe code works once and expires in 30 minutes; using it signs you out everywhere. If it was not you, ignore this email: your password is unchanged.\n",
        variables: code_email_variables,
    },
    BuiltIn {
        id: "invitation",
        subject: "Your invitation to {{ orgName }}",
        content: r##"<mj-text>You are invited to join <b>{{ orgName }}</b> on Bodega as {{ role }}.</mj-text>
        <mj-text>Sign in (or register) as {{ invitedEmail }}, then accept the invitation with this code:</mj-text>
        <mj-text css-class="code">
{{ code }}
</mj-text>
        <mj-text css-class="muted">(POST /v1/invitations/accept with {"token": "&lt;code&gt;"}). The code works once and expires at {{ expiresAt }}.</mj-text>"##,
        text: "You are invited to join {{ orgName }} on Bodega as {{ role }}.\n\nSign in (or register) as {{ invitedEmail }}, then accept the invitation with this code:\n\n{{ code }}\n\n(POST /v1/invitations/accept with {\"token\": \"<code>\"}). The code works once and expires at {{ expiresAt }}.\n",
        variables: invitation_variables,
    },
    BuiltIn {
        id: "password_changed",
        subject: "Your password was changed",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>The password of your account was just changed, and every session was signed out.</mj-text>
        <mj-text>If this was you, there is nothing to do. If it was not, reset your password now and contact support.</mj-text>"##,
        text: "Hello {{ name }},\n\nThe password of your account was just changed, and every session was signed out.\n\nIf this was you, there is nothing to do. If it was not, reset your password now and contact support.\n",
        variables: name_only,
    },
    BuiltIn {
        id: "session_signed_out",
        subject: "We signed out one of your sessions",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>A sign-in token of your session on {{ device }} was used twice, which happens when a token is copied. To be safe, we signed that session out; sign in again on that device.</mj-text>
        <mj-text>If this keeps happening, change your password.</mj-text>"##,
        text: "Hello {{ name }},\n\nA sign-in token of your session on {{ device }} was used twice, which happens when a token is copied. To be safe, we signed that session out; sign in again on that device.\n\nIf this keeps happening, change your password.\n",
        variables: session_variables,
    },
    BuiltIn {
        id: "order_confirmed",
        subject: "Order {{ orderId }} confirmed",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>Thank you, we have your payment.</mj-text>
        <mj-table cellpadding="4px">
          {% for line in lines %}<tr><td>{{ line.quantity }} × {{ line.name }}</td><td align="right">{{ line.total }}</td></tr>
          {% endfor %}</mj-table>
        <mj-text>Total (with shipping and tax): <b>{{ total }}</b></mj-text>
        <mj-text>We will write again when it ships.</mj-text>"##,
        text: "Hello {{ name }},\n\nThank you, we have your payment.\n\n{% for line in lines %}  {{ line.quantity }} × {{ line.name }}  {{ line.total }}\n{% endfor %}\nTotal (with shipping and tax): {{ total }}\n\nWe will write again when it ships.\n",
        variables: order_confirmed_variables,
    },
    BuiltIn {
        id: "order_shipped",
        subject: "Your order {{ orderId }} has shipped",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>A parcel of your order is on its way:</mj-text>
        <mj-table cellpadding="4px">
          {% for line in lines %}<tr><td>{{ line.quantity }} × {{ line.name }}</td><td align="right">{{ line.total }}</td></tr>
          {% endfor %}</mj-table>
        {% if carrier is defined and trackingNumber is defined %}<mj-text>Carrier: {{ carrier }}<br />Tracking number: <span class="code">{{ trackingNumber }}</span></mj-text>{% endif %}"##,
        text: "Hello {{ name }},\n\nA parcel of your order is on its way:\n\n{% for line in lines %}  {{ line.quantity }} × {{ line.name }}  {{ line.total }}\n{% endfor %}\n{% if carrier is defined and trackingNumber is defined %}Carrier: {{ carrier }}\nTracking number: {{ trackingNumber }}\n{% endif %}",
        variables: order_shipped_variables,
    },
    BuiltIn {
        id: "order_cancelled",
        subject: "Order {{ orderId }} cancelled",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>Your order {{ orderId }} was cancelled. {% if refunded is defined %}The {{ refunded }} you paid is being refunded to your payment method.{% else %}Nothing was charged.{% endif %}</mj-text>"##,
        text: "Hello {{ name }},\n\nYour order {{ orderId }} was cancelled. {% if refunded is defined %}The {{ refunded }} you paid is being refunded to your payment method.{% else %}Nothing was charged.{% endif %}\n",
        variables: order_cancelled_variables,
    },
    BuiltIn {
        id: "review_requested",
        subject: "Review requested: {{ templateName }} (version {{ version }})",
        content: r##"<mj-text>Version {{ version }} of the email template "{{ templateName }}" awaits your review (step "{{ step }}").</mj-text>
        <mj-text>Open your approvals inbox to approve or request changes.</mj-text>"##,
        text: "Version {{ version }} of the email template \"{{ templateName }}\" awaits your review (step \"{{ step }}\").\nOpen your approvals inbox to approve or request changes.\n",
        variables: review_variables,
    },
    BuiltIn {
        id: "rfq_invitation",
        subject: "Request for quotation: {{ rfqTitle }}",
        content: r##"<mj-text>{{ buyerName }} invites you to quote for <b>{{ rfqTitle }}</b> (delivery to {{ city }}, {{ windowFrom }} to {{ windowTo }}).</mj-text>
        <mj-text>Proposals close at {{ closesAt }}. Open it with GET {{ rfqPath }}.</mj-text>"##,
        text: "{{ buyerName }} invites you to quote for \"{{ rfqTitle }}\" (delivery to {{ city }}, {{ windowFrom }} to {{ windowTo }}).\nProposals close at {{ closesAt }}. Open it with GET {{ rfqPath }}.\n",
        variables: rfq_invitation_variables,
    },
    BuiltIn {
        id: "rfq_outcome",
        subject: "{% if orderId is defined %}Awarded{% else %}Not selected{% endif %}: {{ rfqTitle }}",
        content: r##"<mj-text>{% if orderId is defined %}Your proposal for "{{ rfqTitle }}" was awarded: order {{ orderId }} at your proposed prices.{% else %}Thank you for your proposal for "{{ rfqTitle }}". It was not selected.{% endif %}</mj-text>"##,
        text: "{% if orderId is defined %}Your proposal for \"{{ rfqTitle }}\" was awarded: order {{ orderId }} at your proposed prices.{% else %}Thank you for your proposal for \"{{ rfqTitle }}\". It was not selected.{% endif %}\n",
        variables: rfq_outcome_variables,
    },
    BuiltIn {
        id: "temperature_excursion",
        subject: "Temperature excursion on order {{ orderId }}",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>The seller {{ sellerOrgId }} recorded a temperature excursion ({{ temperature }}) at {{ at }} on your order {{ orderId }}. Check the goods on arrival.</mj-text>"##,
        text: "Hello {{ name }},\n\nThe seller {{ sellerOrgId }} recorded a temperature excursion ({{ temperature }}) at {{ at }} on your order {{ orderId }}. Check the goods on arrival.\n",
        variables: excursion_variables,
    },
    BuiltIn {
        id: "content_hidden",
        subject: "A moderator hid {{ what }}",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>A moderator hid {{ what }}. It is no longer shown to others.</mj-text>
        <mj-text>The reason given: {{ reason }}</mj-text>
        <mj-text css-class="muted">Your account's activity (GET /v1/me/audit) records this. If you think it is a mistake, reply through the help centre.</mj-text>"##,
        text: "Hello {{ name }},\n\nA moderator hid {{ what }}. It is no longer shown to others.\n\nThe reason given: {{ reason }}\n\nYour account's activity (GET /v1/me/audit) records this. If you think it is a mistake, reply through the help centre.\n",
        variables: content_hidden_variables,
    },
    BuiltIn {
        id: "rfq_amended",
        subject: "Amendment {{ number }}: {{ rfqTitle }}",
        content: r##"<mj-text>{{ buyerName }} amended the request for quotation <b>{{ rfqTitle }}</b> (amendment {{ number }}):</mj-text>
        <mj-text>{{ text }}</mj-text>
        {% if changes %}<mj-text>{% for change in changes %}{{ change }}<br />{% endfor %}</mj-text>{% endif %}
        <mj-text>Proposals close at {{ closesAt }}. Open it with GET {{ rfqPath }}.</mj-text>"##,
        text: "{{ buyerName }} amended the request for quotation \"{{ rfqTitle }}\" (amendment {{ number }}):\n\n{{ text }}\n\n{% for change in changes %}{{ change }}\n{% endfor %}\nProposals close at {{ closesAt }}. Open it with GET {{ rfqPath }}.\n",
        variables: rfq_amended_variables,
    },
    BuiltIn {
        id: "rfq_closing_soon",
        subject: "Closing soon: {{ rfqTitle }}",
        content: r##"<mj-text>The request for quotation <b>{{ rfqTitle }}</b> closes at {{ closesAt }} and has no proposal from you yet.</mj-text>
        <mj-text>Open it with GET {{ rfqPath }}, then propose or decline.</mj-text>"##,
        text: "The request for quotation \"{{ rfqTitle }}\" closes at {{ closesAt }} and has no proposal from you yet.\nOpen it with GET {{ rfqPath }}, then propose or decline.\n",
        variables: rfq_closing_soon_variables,
    },
    BuiltIn {
        id: "rfq_message",
        subject: "New message on {{ rfqTitle }}",
        content: r##"<mj-text>{{ fromName }} wrote about the request for quotation <b>{{ rfqTitle }}</b>:</mj-text>
        <mj-text>{{ text }}</mj-text>
        <mj-text>Answer with POST {{ messagesPath }}.</mj-text>"##,
        text: "{{ fromName }} wrote about the request for quotation \"{{ rfqTitle }}\":\n\n{{ text }}\n\nAnswer with POST {{ messagesPath }}.\n",
        variables: rfq_message_variables,
    },
    BuiltIn {
        id: "mfa_changed",
        subject: "Your two-factor sign-in changed",
        content: r##"<mj-text>Hello {{ name }},</mj-text>
        <mj-text>{{ summary }}</mj-text>
        <mj-text>If this was you, there is nothing to do. If it was not, reset your password now, sign out everywhere and contact support.</mj-text>
        <mj-text css-class="muted">Your account's activity (GET /v1/me/audit) records this.</mj-text>"##,
        text: "Hello {{ name }},\n\n{{ summary }}\n\nIf this was you, there is nothing to do. If it was not, reset your password now, sign out everywhere and contact support.\n\nYour account's activity (GET /v1/me/audit) records this.\n",
        variables: mfa_changed_variables,
    },
];

/// The built-in template with `id`.
pub fn built_in(id: &str) -> Option<&'static BuiltIn> {
    BUILT_INS.iter().find(|b| b.id == id)
}

/// Renders `email` with its built-in template through the pipeline.
pub fn render(email: &PlatformEmail) -> anyhow::Result<Rendered> {
    let template = built_in(email.id())
        .ok_or_else(|| anyhow::anyhow!("no built-in template {}", email.id()))?;
    let Value::Object(data) = email.data() else {
        anyhow::bail!("the data of {} is not an object", email.id());
    };
    render_with(template, &data)
}

/// Renders a built-in template with `data` (nulls count as left out; the
/// templates test optional values with `is defined`).
pub fn render_with(template: &BuiltIn, data: &Map<String, Value>) -> anyhow::Result<Rendered> {
    let variables = (template.variables)();
    let bound = render::bind(&variables, data).map_err(|fields| {
        anyhow::anyhow!(
            "the data of the built-in email {} does not fit: {fields:?}",
            template.id
        )
    })?;
    let body = template.body();
    let source = Source {
        subject: template.subject,
        body: &body,
        format: BodyFormat::Mjml,
        text: Some(template.text),
        assets: render::NO_ASSETS,
    };
    render::render(&source, &bound).map_err(|problems| {
        anyhow::anyhow!(
            "the built-in email {} does not render: {problems:?}",
            template.id
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<EmailLine> {
        vec![
            EmailLine {
                quantity: 2,
                name: "Tomatoes <b>".into(),
                total: "6.00 EUR".into(),
            },
            EmailLine {
                quantity: 1,
                name: "Basil".into(),
                total: "1.50 EUR".into(),
            },
        ]
    }

    fn every_email() -> Vec<PlatformEmail> {
        vec![
            PlatformEmail::VerifyEmail {
                name: "Ada <script>".into(),
                code: "c0ffee-1".into(),
                action_url: Some("https://app.example.com/verify-email?token=c0ffee-1".into()),
            },
            PlatformEmail::ResetPassword {
                name: "Ada".into(),
                code: "c0ffee-2".into(),
                action_url: None,
            },
            PlatformEmail::Invitation {
                org_name: "Acme & Co".into(),
                role: "member".into(),
                invited_email: "grace@example.com".into(),
                code: "ab".repeat(32),
                expires_at: "2026-12-01T10:00:00Z".into(),
            },
            PlatformEmail::PasswordChanged { name: "Ada".into() },
            PlatformEmail::SessionSignedOut {
                name: "Ada".into(),
                device: "Firefox".into(),
            },
            PlatformEmail::OrderConfirmed {
                name: "Ada".into(),
                order_id: "01ORDER".into(),
                lines: lines(),
                total: "7.50 EUR".into(),
            },
            PlatformEmail::OrderShipped {
                name: "Ada".into(),
                order_id: "01ORDER".into(),
                lines: lines(),
                carrier: Some("DHL".into()),
                tracking_number: Some("JJD0099".into()),
            },
            PlatformEmail::OrderCancelled {
                name: "Ada".into(),
                order_id: "01ORDER".into(),
                refunded: None,
            },
            PlatformEmail::ReviewRequested {
                template_name: "Welcome".into(),
                version: 3,
                step: "Legal".into(),
            },
            PlatformEmail::RfqInvitation {
                buyer_name: "Fresh & Co".into(),
                rfq_title: "Tomatoes".into(),
                city: "Lyon".into(),
                window_from: "2026-12-10".into(),
                window_to: "2026-12-20".into(),
                closes_at: "2026-12-01T12:00:00Z".into(),
                rfq_path: "/v1/orgs/o/rfqs/r".into(),
            },
            PlatformEmail::RfqOutcome {
                rfq_title: "Tomatoes".into(),
                order_id: Some("01ORDER".into()),
            },
            PlatformEmail::TemperatureExcursion {
                name: "Ada".into(),
                order_id: "01ORDER".into(),
                seller_org_id: "org-9".into(),
                temperature: "9.5 °C".into(),
                at: "2026-12-12T08:00:00Z".into(),
            },
            PlatformEmail::ContentHidden {
                name: "Ada".into(),
                what: "your review of Tomatoes".into(),
                reason: "Spam <b>links</b>".into(),
            },
            PlatformEmail::RfqAmended {
                buyer_name: "Fresh & Co".into(),
                rfq_title: "Tomatoes".into(),
                number: 2,
                text: "Closing extended by a week".into(),
                changes: vec!["closesAt: 2026-12-01T12:00:00Z → 2026-12-08T12:00:00Z".into()],
                closes_at: "2026-12-08T12:00:00Z".into(),
                rfq_path: "/v1/orgs/o/rfqs/r".into(),
            },
            PlatformEmail::RfqClosingSoon {
                rfq_title: "Tomatoes".into(),
                closes_at: "2026-12-01T12:00:00Z".into(),
                rfq_path: "/v1/orgs/o/rfqs/r".into(),
            },
            PlatformEmail::RfqMessage {
                rfq_title: "Tomatoes".into(),
                from_name: "Fresh & Co".into(),
                text: "Is a 6 kg case acceptable?".into(),
                messages_path: "/v1/orgs/o/rfqs/r/messages".into(),
            },
            PlatformEmail::MfaChanged {
                name: "Ada".into(),
                summary: "Two-factor sign-in was turned on for your account.".into(),
            },
        ]
    }

    #[test]
    fn every_built_in_renders_html_and_text_with_the_layout() {
        let emails = every_email();
        assert_eq!(emails.len(), BUILT_INS.len(), "one example per built-in");
        for email in &emails {
            let rendered = render(email).unwrap_or_else(|e| panic!("{}: {e:#}", email.id()));
            assert!(!rendered.subject.contains("{{"), "{}", rendered.subject);
            assert!(rendered.html.contains("<html"), "{}", email.id());
            assert!(
                rendered.html.contains("replies are not read"),
                "{}",
                email.id()
            );
            assert!(!rendered.text.contains("{%"), "{}", rendered.text);
            assert!(!rendered.text.is_empty());
        }
    }

    #[test]
    fn values_are_escaped_and_actions_are_buttons() {
        let email = render(&every_email()[0]).unwrap();
        assert!(email.html.contains("Ada &lt;script&gt;"), "{}", email.html);
        assert!(!email.html.contains("<script>"));
        assert!(
            email
                .html
                .contains("href=\"https://app.example.com/verify-email?token=c0ffee-1\""),
            "{}",
            email.html
        );
        assert!(
            email.text.contains("or enter this code: c0ffee-1"),
            "{}",
            email.text
        );
        // Without the app's URL, the code alone.
        let reset = render(&every_email()[1]).unwrap();
        assert!(!reset.html.contains("<a "), "{}", reset.html);
        assert!(reset.text.contains("Your code: c0ffee-2"), "{}", reset.text);
    }

    #[test]
    fn order_emails_list_their_lines() {
        let confirmed = render(&every_email()[5]).unwrap();
        assert_eq!(confirmed.subject, "Order 01ORDER confirmed");
        assert!(
            confirmed.html.contains("2 × Tomatoes &lt;b&gt;"),
            "{}",
            confirmed.html
        );
        assert!(
            confirmed.text.contains("  2 × Tomatoes <b>  6.00 EUR\n"),
            "{}",
            confirmed.text
        );
        let shipped = render(&every_email()[6]).unwrap();
        assert!(
            shipped.text.contains("Tracking number: JJD0099"),
            "{}",
            shipped.text
        );
        let cancelled = render(&every_email()[7]).unwrap();
        assert!(
            cancelled.html.contains("Nothing was charged."),
            "{}",
            cancelled.html
        );
    }

    #[test]
    fn data_that_does_not_fit_the_schema_is_refused() {
        let email = PlatformEmail::Invitation {
            org_name: "Acme".into(),
            role: "member".into(),
            invited_email: "not an email".into(),
            code: "x".into(),
            expires_at: "2026-12-01T10:00:00Z".into(),
        };
        let err = render(&email).unwrap_err().to_string();
        assert!(err.contains("invitedEmail"), "{err}");
    }
}
