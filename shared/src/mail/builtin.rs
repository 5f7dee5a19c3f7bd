//! The platform's own emails (verification, password reset, invitations,
//! order and security notices) go through the same pipeline as the
//! organizations' templates: a built-in MJML template, `notice`, lays out
//! the plain text each context writes as an HTML part (paragraphs and
//! lines, every value escaped), and the text itself stays the text part.

use serde_json::json;

use super::render::{self, BodyFormat, Rendered, Source, Variable, VariableType};

const NOTICE_SUBJECT: &str = "{{ subject }}";
const NOTICE_TEXT: &str = "{{ text }}";
/// One `mj-text` per paragraph; each line stands between new lines and ends
/// with a line break, so the words of a line (a code, a link) stay apart
/// from the markup around them.
const NOTICE_BODY: &str = r##"<mjml>
  <mj-head>
    <mj-title>{{ subject }}</mj-title>
    <mj-style inline="inline">.notice { color: #1f2937; font-size: 15px; line-height: 22px; }</mj-style>
  </mj-head>
  <mj-body background-color="#f3f4f6">
    <mj-section background-color="#ffffff">
      <mj-column>
        <mj-text css-class="notice" font-size="18px" font-weight="bold">Bodega</mj-text>
        {% for paragraph in paragraphs %}<mj-text css-class="notice">{% for line in paragraph %}
{{ line }}
<br />{% endfor %}
</mj-text>
        {% endfor %}
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>"##;

fn notice_schema() -> Vec<Variable> {
    let var = |name: &str, kind| Variable {
        name: name.to_owned(),
        kind,
        required: true,
        default: None,
        description: None,
    };
    vec![
        var("subject", VariableType::String),
        var("text", VariableType::String),
        var("paragraphs", VariableType::List),
    ]
}

/// `text` as paragraphs (split at blank lines) of lines.
fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    text.split("\n\n")
        .map(|p| {
            p.lines()
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// A platform email: `subject` and the plain `text`, rendered through the
/// pipeline into HTML and text parts.
pub fn notice(subject: &str, text: &str) -> anyhow::Result<Rendered> {
    let data = json!({ "subject": subject, "text": text, "paragraphs": paragraphs(text) });
    let data = data.as_object().expect("a JSON object");
    let bound = render::bind(&notice_schema(), data)
        .map_err(|fields| anyhow::anyhow!("the notice data does not fit: {fields:?}"))?;
    let source = Source {
        subject: NOTICE_SUBJECT,
        body: NOTICE_BODY,
        format: BodyFormat::Mjml,
        text: Some(NOTICE_TEXT),
        assets: render::NO_ASSETS,
    };
    render::render(&source, &bound)
        .map_err(|problems| anyhow::anyhow!("the built-in notice does not render: {problems:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_has_an_escaped_html_part_and_the_text_as_it_was() {
        let text = "Hello <Ada>,\n\nYour code: AB-12_x\nIt works once.\n\nc0ffee\n\nBye & thanks";
        let email = notice("Confirm your email", text).unwrap();
        assert_eq!(email.subject, "Confirm your email");
        assert_eq!(email.text.trim_end(), text);
        assert!(email.html.contains("Hello &lt;Ada&gt;,"), "{}", email.html);
        assert!(
            email.html.contains("Your code: AB-12_x\n"),
            "{}",
            email.html
        );
        assert!(email.html.contains("Bye &amp; thanks"), "{}", email.html);
        // A code alone on its line is a word of its own in the HTML too.
        assert!(
            email.html.split_whitespace().any(|w| w == "c0ffee"),
            "{}",
            email.html
        );
        assert!(!email.html.contains("<Ada>"));
    }
}
