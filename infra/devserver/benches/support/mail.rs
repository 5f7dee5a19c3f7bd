//! The mail figures of `make bench`: rendering a realistic MJML template
//! with 20 variables (variables, MJML, CSS inlining, text part), and a bulk
//! send's throughput through the queue and the worker against the local
//! stack (moto's SQS and SES, DynamoDB Local), with the send rate's pacing
//! lifted so the pipeline itself is measured.

use serde_json::{Value, json};

/// An order-shipped email as a marketing team writes it: 20 variables
/// (strings, numbers, a date, a URL, an email, HTML and a list).
pub fn template() -> Value {
    let variables = [
        ("firstName", "string"),
        ("lastName", "string"),
        ("orderNumber", "string"),
        ("orderDate", "date"),
        ("total", "number"),
        ("currency", "string"),
        ("shippingName", "string"),
        ("line1", "string"),
        ("postalCode", "string"),
        ("city", "string"),
        ("country", "string"),
        ("carrier", "string"),
        ("trackingNumber", "string"),
        ("trackingUrl", "url"),
        ("supportEmail", "email"),
        ("note", "html"),
        ("itemCount", "number"),
        ("couponCode", "string"),
        ("vip", "boolean"),
        ("items", "list"),
    ];
    let variables: Vec<Value> = variables
        .iter()
        .map(|(name, kind)| json!({ "name": name, "type": kind, "required": true }))
        .collect();
    json!({
        "name": "Order shipped (bench)",
        "category": "marketing",
        "subject": "{{ firstName }}, order {{ orderNumber }} is on its way",
        "format": "mjml",
        "body": r##"<mjml>
  <mj-head>
    <mj-attributes><mj-all font-family="Helvetica, Arial, sans-serif" /></mj-attributes>
    <mj-style inline="inline">.muted { color: #6b7280; } .total { font-weight: bold; }</mj-style>
  </mj-head>
  <mj-body background-color="#f3f4f6">
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text font-size="20px">Hello {{ firstName }} {{ lastName }},</mj-text>
        <mj-text>Your order <b>{{ orderNumber }}</b> of {{ orderDate }} ({{ itemCount }} items) has shipped with {{ carrier }}.</mj-text>
        <mj-button href="{{ trackingUrl }}">Track {{ trackingNumber }}</mj-button>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-table>
          <tr><th align="left">Items</th></tr>
          {% for item in items %}<tr><td>{{ item }}</td></tr>{% endfor %}
        </mj-table>
        <mj-text css-class="total">Total: {{ total }} {{ currency }}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text>Shipping to {{ shippingName }}, {{ line1 }}, {{ postalCode }} {{ city }}, {{ country }}</mj-text>
        <mj-text>{{ note }}</mj-text>
        {% if vip %}<mj-text>As a VIP, use {{ couponCode }} on your next order.</mj-text>{% endif %}
        <mj-text css-class="muted">Questions? Write to {{ supportEmail }}.</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>"##,
        "variables": variables,
    })
}

/// Data for [`template`], different per recipient.
pub fn data(i: usize) -> Value {
    let items: Vec<Value> = (0..5)
        .map(|n| {
            json!(format!(
                "{} x item {n} of lot {i}, {:.2} EUR",
                1 + n,
                4.5 + n as f64
            ))
        })
        .collect();
    json!({
        "firstName": format!("Reader{i}"), "lastName": "Lovelace", "orderNumber": format!("B-{i:05}"),
        "orderDate": "2026-11-20", "total": 42.5, "currency": "EUR", "shippingName": "Ada Lovelace",
        "line1": "Rua das Flores 12", "postalCode": "1200-195", "city": "Lisboa", "country": "PT",
        "carrier": "CTT", "trackingNumber": format!("RR{i:09}PT"), "trackingUrl": "https://track.example.com/RR",
        "supportEmail": "help@bench.example", "note": "<p>Thank you for <em>shopping</em> with us!</p>",
        "itemCount": 5, "couponCode": "THANKS10", "vip": i.is_multiple_of(2), "items": items,
    })
}
