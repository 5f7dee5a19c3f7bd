//! The one rendering pipeline for every email the platform sends: an
//! organization's templates today, the platform's own emails (verification,
//! reset, invitations) next. It lives in `shared` because those are sent by
//! several contexts (identity, stream) and no function crate depends on
//! another. It is pure: no table, no SES, no clock.
//!
//! Templates are untrusted input. The steps, in order:
//! 1. variables (minijinja): undefined is an error, the HTML part is always
//!    HTML-escaped (no `safe` filter, no `autoescape` block), every render
//!    has a fuel budget so a loop cannot run forever, and the output is
//!    capped. There is no loader: nothing can be included, imported or
//!    extended, and minijinja reads no file and no environment variable;
//! 2. MJML → HTML (mrml) when the body is MJML, with its default include
//!    loader that refuses every `mj-include`, and no web fonts;
//! 3. CSS inlining (css-inline, built without its file and HTTP loaders);
//!    a document that links a stylesheet or `@import`s one is refused;
//! 4. the text part: the template's own, else generated from the HTML.
//!
//! Values of `html`-typed variables are sanitized (ammonia) and then
//! inserted as they are; every other value is escaped.
//!
//! Images are the organization's template assets, written `asset:<id>` in
//! the body or text part (`<mj-image src="asset:01J...">`). The caller
//! resolves them to their published, never-expiring URLs
//! ([`Source::assets`]); a reference it could not resolve is a problem at
//! its line and column, and each one is replaced after the variables step,
//! so only references written in the template itself are ever linked.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use minijinja::value::{Serde, Value as JinjaValue};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::http::Problems;

/// Instructions one part may run: far above a real template (a 20-variable
/// newsletter with a 50-item loop needs a few thousand), far below a stall.
pub const FUEL: u64 = 200_000;
/// The largest part a render may produce.
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024;
pub const MAX_SUBJECT_CHARS: usize = 998;
const TEXT_WIDTH: usize = 78;

/// How the body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    Mjml,
    Html,
}

/// The type of a template variable; data is checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariableType {
    String,
    Number,
    Boolean,
    /// `YYYY-MM-DD` or an RFC 3339 date-time.
    Date,
    /// An `http` or `https` URL.
    Url,
    Email,
    /// HTML, sanitized before it is inserted (scripts, handlers and styles removed).
    Html,
    List,
    Object,
}

/// A variable a template declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Variable {
    /// A name a template can use: letters, digits and `_`, not starting with a digit.
    #[schema(example = "firstName")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: VariableType,
    #[serde(default)]
    pub required: bool,
    /// Used when the data leaves the variable out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Template images: asset id → its public URL.
pub type AssetLinks = BTreeMap<String, String>;

/// For sources without images (the platform's built-in emails).
pub const NO_ASSETS: &AssetLinks = &BTreeMap::new();

const ASSET_SCHEME: &str = "asset:";
const ASSET_ID_LEN: usize = 26;

/// The parts of a template, as they are rendered.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    pub format: BodyFormat,
    pub text: Option<&'a str>,
    /// The template images the parts refer to, resolved by the caller.
    pub assets: &'a AssetLinks,
}

/// `asset:<id>` references in `text` with their byte offsets: the scheme
/// followed by exactly 26 letters and digits (a ULID), not part of a longer
/// word.
fn asset_references(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.match_indices(ASSET_SCHEME).filter_map(move |(at, _)| {
        let start = at + ASSET_SCHEME.len();
        let id = text.get(start..start + ASSET_ID_LEN)?;
        let boundary_before = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let boundary_after = text[start + ASSET_ID_LEN..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        (boundary_before
            && boundary_after
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()))
        .then_some((at, id))
    })
}

/// The asset ids a template's body and text part refer to, for the caller
/// to resolve.
pub fn asset_refs(source: &Source<'_>) -> BTreeSet<String> {
    std::iter::once(source.body)
        .chain(source.text)
        .flat_map(asset_references)
        .map(|(_, id)| id.to_owned())
        .collect()
}

/// A reference the caller could not resolve is a problem where it is written.
fn check_asset_links(part: Part, text: &str, links: &AssetLinks) -> Result<(), Problem> {
    match asset_references(text).find(|(_, id)| !links.contains_key(*id)) {
        Some((at, id)) => Err(Problem::new(
            part,
            format!("asset:{id} is not a ready template image of this organization"),
        )
        .at(text, at)),
        None => Ok(()),
    }
}

/// Replaces each resolved reference with its URL.
fn link_assets(mut text: String, links: &AssetLinks) -> String {
    for (id, url) in links {
        text = text.replace(&format!("{ASSET_SCHEME}{id}"), url);
    }
    text
}

/// Which part a problem is in; also the request field it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Subject,
    Body,
    Text,
}

impl Part {
    pub fn field(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Body => "body",
            Part::Text => "text",
        }
    }
}

/// Why a part does not render, with where, when known (1-based).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    pub part: Part,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl Problem {
    fn new(part: Part, message: impl Into<String>) -> Self {
        Self {
            part,
            message: message.into(),
            line: None,
            column: None,
        }
    }

    fn at(mut self, source: &str, offset: usize) -> Self {
        let (line, column) = line_column(source, offset);
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The data of one render: checked against the schema, defaults applied,
/// `html` values sanitized. Build it with [`bind`].
#[derive(Debug, Clone)]
pub struct Bound(BTreeMap<String, JinjaValue>);

/// Checks `data` against the declared variables: each value has its type,
/// each required variable without a default is present. Keys the schema
/// does not declare are ignored. Errors name the variable (`data.<name>`).
pub fn bind(schema: &[Variable], data: &Map<String, Value>) -> Result<Bound, Problems> {
    let mut problems = Problems::default();
    let mut bound = BTreeMap::new();
    for variable in schema {
        let field = format!("data.{}", variable.name);
        let value = match data.get(&variable.name).filter(|v| !v.is_null()) {
            Some(value) => value,
            None => match &variable.default {
                Some(default) => default,
                None if variable.required => {
                    problems.add(field.as_str(), "is required");
                    continue;
                }
                None => continue,
            },
        };
        match check_type(variable.kind, value) {
            Ok(()) => {
                let value = match (variable.kind, value) {
                    (VariableType::Html, Value::String(html)) => {
                        JinjaValue::from_safe_string(ammonia::clean(html))
                    }
                    (_, value) => JinjaValue::from(Serde(value)),
                };
                bound.insert(variable.name.clone(), value);
            }
            Err(message) => problems.add(field.as_str(), message),
        }
    }
    if problems.is_empty() {
        Ok(Bound(bound))
    } else {
        Err(problems)
    }
}

fn check_type(kind: VariableType, value: &Value) -> Result<(), String> {
    let ok = match kind {
        VariableType::String => value.is_string(),
        VariableType::Number => value.is_number(),
        VariableType::Boolean => value.is_boolean(),
        VariableType::List => value.is_array(),
        VariableType::Object => value.is_object(),
        VariableType::Html => value.is_string(),
        VariableType::Date => value.as_str().is_some_and(is_date),
        VariableType::Url => value.as_str().is_some_and(is_web_url),
        VariableType::Email => value
            .as_str()
            .is_some_and(|s| crate::domain::Email::parse(s).is_ok()),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("must be {}", describe(kind)))
    }
}

fn describe(kind: VariableType) -> &'static str {
    match kind {
        VariableType::String => "a string",
        VariableType::Number => "a number",
        VariableType::Boolean => "true or false",
        VariableType::Date => "a date (YYYY-MM-DD or RFC 3339)",
        VariableType::Url => "an http or https URL",
        VariableType::Email => "an email address",
        VariableType::Html => "a string of HTML",
        VariableType::List => "a list",
        VariableType::Object => "an object",
    }
}

fn is_date(text: &str) -> bool {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &day).is_ok()
        || time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

/// `http://` or `https://`, a host, no spaces or control characters: never
/// `javascript:` or `data:`.
fn is_web_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty()
            && text.len() <= 2048
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// Problems with the schema itself, by field (`variables[2].name`).
pub fn check_schema(schema: &[Variable]) -> Problems {
    let mut problems = Problems::default();
    let mut seen = BTreeSet::new();
    if schema.len() > 100 {
        problems.add("variables", "at most 100 variables");
    }
    for (i, variable) in schema.iter().enumerate() {
        let field = format!("variables[{i}]");
        if !is_identifier(&variable.name) {
            problems.add(
                format!("{field}.name"),
                "must be 1 to 64 letters, digits or _, not starting with a digit",
            );
        } else if !seen.insert(variable.name.as_str()) {
            problems.add(format!("{field}.name"), "is declared twice");
        } else if builtin_names().contains(variable.name.as_str()) {
            problems.add(
                format!("{field}.name"),
                "is the name of a built-in function",
            );
        }
        if let Some(default) = &variable.default
            && let Err(message) = check_type(variable.kind, default)
        {
            problems.add(format!("{field}.default"), message);
        }
        if variable
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 500)
        {
            problems.add(format!("{field}.description"), "at most 500 characters");
        }
    }
    problems
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Functions every template may call; they are no variables.
fn builtin_names() -> BTreeSet<&'static str> {
    BTreeSet::from([
        "range",
        "dict",
        "namespace",
        "debug",
        "loop",
        "self",
        "super",
        "caller",
        "varargs",
        "kwargs",
    ])
}

/// A value of each declared variable: its default, else an example of its
/// type. What a preview renders with when it is given no data.
pub fn sample(schema: &[Variable]) -> Map<String, Value> {
    schema
        .iter()
        .map(|variable| {
            let value = variable.default.clone().unwrap_or_else(|| {
                let name = &variable.name;
                match variable.kind {
                    VariableType::String => Value::from(format!("Sample {name}")),
                    VariableType::Number => Value::from(42),
                    VariableType::Boolean => Value::from(true),
                    VariableType::Date => Value::from("2026-01-31"),
                    VariableType::Url => Value::from("https://example.com/"),
                    VariableType::Email => Value::from("someone@example.com"),
                    VariableType::Html => Value::from(format!("<p>Sample <b>{name}</b></p>")),
                    VariableType::List => {
                        Value::from(vec![Value::from("first"), Value::from("second")])
                    }
                    VariableType::Object => Value::Object(Map::new()),
                }
            });
            (variable.name.clone(), value)
        })
        .collect()
}

/// Each part's text, for checks that look at all of them.
fn parts<'a>(source: &Source<'a>) -> Vec<(Part, &'a str)> {
    let mut parts = vec![(Part::Subject, source.subject), (Part::Body, source.body)];
    if let Some(text) = source.text {
        parts.push((Part::Text, text));
    }
    parts
}

/// Variables the parts use: (part, top-level name), in order. A part that
/// does not parse is reported by [`render`] instead.
pub fn used_variables(source: &Source<'_>) -> BTreeSet<(Part, String)> {
    let env = environment(AutoEscape::None);
    let builtins = builtin_names();
    let mut used = BTreeSet::new();
    for (part, text) in parts(source) {
        if let Ok(template) = env.template_from_str(text) {
            for name in template.undeclared_variables(false) {
                if !builtins.contains(name.as_str()) {
                    used.insert((part, name));
                }
            }
        }
    }
    used
}

/// Variables used but not declared, by part field: what blocks a submit.
pub fn undeclared(source: &Source<'_>, schema: &[Variable]) -> Problems {
    let declared: BTreeSet<&str> = schema.iter().map(|v| v.name.as_str()).collect();
    let mut problems = Problems::default();
    for (part, name) in used_variables(source) {
        if !declared.contains(name.as_str()) {
            problems.add(
                part.field(),
                format!("uses the variable `{name}`, which the template does not declare"),
            );
        }
    }
    problems
}

/// Advice that does not block: declared variables nobody uses, a subject
/// that is long, a missing text part.
pub fn lint(source: &Source<'_>, schema: &[Variable]) -> Vec<String> {
    let used: BTreeSet<String> = used_variables(source)
        .into_iter()
        .map(|(_, name)| name)
        .collect();
    let mut warnings: Vec<String> = schema
        .iter()
        .filter(|v| !used.contains(&v.name))
        .map(|v| format!("the variable `{}` is declared but never used", v.name))
        .collect();
    if source.subject.chars().count() > 78 {
        warnings.push("the subject is longer than 78 characters; many inboxes cut it".into());
    }
    if source.text.is_none() {
        warnings.push("no text part: one is generated from the HTML".into());
    }
    if source.body.contains("http://") {
        warnings.push("the body links with http://; prefer https://".into());
    }
    warnings
}

/// Renders the three parts with `data`; every problem at once, or the email.
pub fn render(source: &Source<'_>, data: &Bound) -> Result<Rendered, Vec<Problem>> {
    let mut problems = Vec::new();
    let plain = environment(AutoEscape::None);
    let html_env = environment(AutoEscape::Html);
    let subject = run(&plain, Part::Subject, source.subject, data).map(|s| one_line(&s));
    let body = refuse_escape_hatches(source.body)
        .and_then(|()| check_asset_links(Part::Body, source.body, source.assets))
        .and_then(|()| run(&html_env, Part::Body, source.body, data))
        .map(|markup| link_assets(markup, source.assets))
        .and_then(|markup| to_html(source.format, &markup));
    let text = source
        .text
        .map(|text| {
            check_asset_links(Part::Text, text, source.assets)
                .and_then(|()| run(&plain, Part::Text, text, data))
                .map(|text| link_assets(text, source.assets))
        })
        .transpose();
    let subject = subject.map_err(|p| problems.push(p)).ok();
    let html = body.map_err(|p| problems.push(p)).ok();
    let text = text.map_err(|p| problems.push(p)).ok().flatten();
    if let Some(subject) = &subject {
        if subject.is_empty() {
            problems.push(Problem::new(Part::Subject, "renders empty"));
        } else if subject.chars().count() > MAX_SUBJECT_CHARS {
            problems.push(Problem::new(
                Part::Subject,
                format!("renders longer than {MAX_SUBJECT_CHARS} characters"),
            ));
        }
    }
    match (subject, html) {
        (Some(subject), Some(html)) if problems.is_empty() => {
            let text = match text {
                Some(text) => text,
                None => html_to_text(&html)?,
            };
            Ok(Rendered {
                subject,
                html,
                text,
            })
        }
        _ => Err(problems),
    }
}

/// An environment with nothing to reach outside the data: no loader, the
/// default builtins only, strict about undefined names, on a fuel budget,
/// escaping HTML when `escape` says so, and without `safe` there.
fn environment(escape: AutoEscape) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    let html = matches!(escape, AutoEscape::Html);
    env.set_auto_escape_callback(move |_| {
        if html {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    if html {
        env.remove_filter("safe");
    }
    env
}

/// `{% autoescape false %}` would turn escaping off for a block: the HTML
/// part may not have one.
fn refuse_escape_hatches(body: &str) -> Result<(), Problem> {
    let mut search = 0;
    while let Some(found) = body[search..].find("{%") {
        let start = search + found;
        let tag = body[start + 2..].trim_start_matches(['-', '+', ' ', '\t', '\n', '\r']);
        if tag.starts_with("autoescape") {
            return Err(Problem::new(
                Part::Body,
                "autoescape blocks are not allowed: the HTML part is always escaped",
            )
            .at(body, start));
        }
        search = start + 2;
    }
    Ok(())
}

/// Collapses a rendered subject to one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(env: &Environment<'_>, part: Part, source: &str, data: &Bound) -> Result<String, Problem> {
    let template = env
        .template_from_str(source)
        .map_err(|err| jinja_problem(part, source, &err))?;
    let mut out = Capped::default();
    match template.render_captured_to(JinjaValue::from_pairs(data.0.clone()), &mut out) {
        Ok(_) => String::from_utf8(out.buffer)
            .map_err(|_| Problem::new(part, "renders text that is not UTF-8")),
        Err(_) if out.overflowed => Err(Problem::new(
            part,
            format!("renders more than {} KiB", MAX_OUTPUT_BYTES / 1024),
        )),
        Err(err) => Err(jinja_problem(part, source, &err)),
    }
}

fn jinja_problem(part: Part, source: &str, err: &minijinja::Error) -> Problem {
    let message = match (err.kind(), err.detail()) {
        (minijinja::ErrorKind::OutOfFuel, _) => {
            "runs too long (a loop without end?): stopped".to_owned()
        }
        (_, Some(detail)) => format!("{}: {detail}", err.kind()),
        (kind, None) => kind.to_string(),
    };
    let mut problem = Problem::new(part, message);
    if let Some(range) = err.range() {
        problem = problem.at(source, range.start);
    } else if let Some(line) = err.line() {
        problem.line = Some(line);
    }
    problem
}

/// A writer that refuses to grow past [`MAX_OUTPUT_BYTES`], which stops the
/// render at its next write.
#[derive(Default)]
struct Capped {
    buffer: Vec<u8>,
    overflowed: bool,
}

impl io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.buffer.len() + bytes.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("the output is too large"));
        }
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The body after variables: MJML compiled to HTML, then CSS inlined.
fn to_html(format: BodyFormat, markup: &str) -> Result<String, Problem> {
    let html = match format {
        BodyFormat::Html => markup.to_owned(),
        BodyFormat::Mjml => mjml_to_html(markup)?,
    };
    refuse_remote_styles(&html)?;
    let inliner = css_inline::CSSInliner::options()
        .load_remote_stylesheets(false)
        .build();
    inliner
        .inline(&html)
        .map_err(|err| Problem::new(Part::Body, format!("the CSS cannot be inlined: {err}")))
}

fn mjml_to_html(markup: &str) -> Result<String, Problem> {
    // The default options' loader refuses every mj-include.
    let parsed = mrml::parse_with_options(markup, &mrml::prelude::parser::ParserOptions::default())
        .map_err(|err| {
            let problem = Problem::new(Part::Body, format!("MJML (after variables): {err}"));
            match mjml_offset(&err) {
                Some(offset) => problem.at(markup, offset),
                None => problem,
            }
        })?;
    let options = mrml::prelude::render::RenderOptions {
        disable_comments: true,
        social_icon_origin: None,
        // No web fonts: they are stylesheets on someone else's server.
        fonts: Default::default(),
    };
    parsed
        .element
        .render(&options)
        .map_err(|err| Problem::new(Part::Body, format!("MJML cannot be rendered: {err}")))
}

fn mjml_offset(err: &mrml::prelude::parser::Error) -> Option<usize> {
    use mrml::prelude::parser::Error as E;
    match err {
        E::UnexpectedElement { position, .. }
        | E::UnexpectedToken { position, .. }
        | E::MissingAttribute { position, .. }
        | E::InvalidAttribute { position, .. }
        | E::InvalidFormat { position, .. }
        | E::IncludeLoaderError { position, .. } => Some(position.start),
        _ => None,
    }
}

/// A stylesheet from elsewhere would be fetched by every mail client that
/// opens the message (and could track it): the body must carry its CSS.
fn refuse_remote_styles(html: &str) -> Result<(), Problem> {
    let lower = html.to_ascii_lowercase();
    let mut search = 0;
    while let Some(found) = lower[search..].find("<link") {
        let start = search + found;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        if lower[start..end].contains("stylesheet") {
            return Err(Problem::new(
                Part::Body,
                "linked stylesheets are not allowed: put the CSS in a <style> element",
            )
            .at(html, start));
        }
        search = end;
    }
    if let Some(at) = lower.find("@import") {
        return Err(Problem::new(
            Part::Body,
            "@import is not allowed: put the CSS in a <style> element",
        )
        .at(html, at));
    }
    Ok(())
}

fn html_to_text(html: &str) -> Result<String, Vec<Problem>> {
    html2text::from_read(html.as_bytes(), TEXT_WIDTH).map_err(|err| {
        vec![Problem::new(
            Part::Text,
            format!("no text part can be made from the HTML: {err}"),
        )]
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let offset = (0..=offset)
        .rev()
        .find(|i| source.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

/// SHA-256 of a template's content, as it is frozen in a version.
pub fn content_hash(source: &Source<'_>, schema: &[Variable]) -> String {
    let canonical = serde_json::json!({
        "subject": source.subject,
        "body": source.body,
        "format": source.format,
        "text": source.text,
        "variables": schema,
    });
    crate::crypto::hash_secret(&canonical.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn var(name: &str, kind: VariableType, required: bool) -> Variable {
        Variable {
            name: name.into(),
            kind,
            required,
            default: None,
            description: None,
        }
    }

    fn data(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn html_source(body: &str) -> Source<'_> {
        Source {
            subject: "Hello {{ name }}",
            body,
            format: BodyFormat::Html,
            text: None,
            assets: NO_ASSETS,
        }
    }

    fn render_with(
        source: &Source<'_>,
        schema: &[Variable],
        value: Value,
    ) -> Result<Rendered, Vec<Problem>> {
        render(source, &bind(schema, &data(value)).expect("the data fits"))
    }

    #[test]
    fn values_are_escaped_in_html_but_not_in_the_subject() {
        let schema = [var("name", VariableType::String, true)];
        let out = render_with(
            &html_source("<p>Hi {{ name }}</p>"),
            &schema,
            json!({"name": "<script>alert(1)</script>"}),
        )
        .unwrap();
        assert!(out.html.contains("&lt;script&gt;"), "{}", out.html);
        assert!(!out.html.contains("<script>"));
        assert_eq!(out.subject, "Hello <script>alert(1)</script>");
        assert!(out.text.contains("Hi <script>"), "{}", out.text);
    }

    #[test]
    fn safe_and_autoescape_cannot_turn_escaping_off() {
        let schema = [var("name", VariableType::String, true)];
        let value = json!({"name": "<b>x</b>"});
        let err = render_with(&html_source("{{ name|safe }}"), &schema, value.clone()).unwrap_err();
        assert_eq!(err[0].part, Part::Body);
        let err = render_with(
            &html_source("ok\n  {% autoescape false %}{{ name }}{% endautoescape %}"),
            &schema,
            value,
        )
        .unwrap_err();
        assert_eq!((err[0].line, err[0].column), (Some(2), Some(3)), "{err:?}");
    }

    #[test]
    fn html_values_are_sanitized_not_escaped() {
        let schema = [
            var("intro", VariableType::Html, true),
            var("name", VariableType::String, false),
        ];
        let out = render_with(
            &html_source("<div>{{ intro }}</div>"),
            &schema,
            json!({"intro": "<b>bold</b><script>steal()</script><a href=\"javascript:x()\" onclick=\"y()\">l</a>", "name": "n"}),
        )
        .unwrap();
        assert!(out.html.contains("<b>bold</b>"), "{}", out.html);
        assert!(!out.html.contains("script") && !out.html.contains("onclick"));
        assert!(!out.html.contains("javascript:"));
    }

    #[test]
    fn undefined_names_are_errors_with_a_position() {
        let err = render(
            &html_source("<p>\n  {{ missing.x }}</p>"),
            &bind(&[], &Map::new()).unwrap(),
        )
        .unwrap_err();
        assert!(err.iter().any(|p| p.part == Part::Subject));
        let body = err.iter().find(|p| p.part == Part::Body).unwrap();
        assert_eq!(body.line, Some(2), "{body:?}");
        assert!(body.column.is_some());
    }

    #[test]
    fn a_loop_without_end_is_stopped() {
        let source = html_source(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        );
        let schema = [var("name", VariableType::String, false)];
        let err = render_with(&source, &schema, json!({"name": "x"})).unwrap_err();
        assert!(err[0].message.contains("too long"), "{err:?}");
        let huge = html_source("{% for i in range(100000) %}{{ 'xxxxxxxxxx' * 1000 }}{% endfor %}");
        let err = render_with(&huge, &schema, json!({"name": "x"})).unwrap_err();
        assert!(err[0].message.contains("more than"), "{err:?}");
    }

    #[test]
    fn nothing_can_be_included_or_loaded() {
        let schema = [var("name", VariableType::String, false)];
        for body in [
            "{% include '/etc/passwd' %}",
            "{% extends 'base.html' %}",
            "{% import 'macros.html' as m %}",
        ] {
            assert!(
                render_with(&html_source(body), &schema, json!({"name": "x"})).is_err(),
                "{body}"
            );
        }
        let mjml = Source {
            subject: "s",
            body: "<mjml><mj-body><mj-include path=\"/etc/passwd\" /></mj-body></mjml>",
            format: BodyFormat::Mjml,
            text: None,
            assets: NO_ASSETS,
        };
        let err = render_with(&mjml, &[], json!({})).unwrap_err();
        assert!(err[0].message.contains("include"), "{err:?}");
        for body in [
            "<html><head><link rel=\"stylesheet\" href=\"https://evil.example/x.css\"></head><body>x</body></html>",
            "<html><head><style>@import url(https://evil.example/x.css);</style></head><body>x</body></html>",
        ] {
            let err = render_with(&html_source(body), &schema, json!({"name": "x"})).unwrap_err();
            assert!(err[0].message.contains("not allowed"), "{err:?}");
        }
    }

    #[test]
    fn mjml_becomes_html_with_inlined_css_and_a_text_part() {
        let source = Source {
            subject: "Order {{ number }}",
            body: "<mjml><mj-head><mj-style inline=\"inline\">.note { color: #ff0000; }</mj-style></mj-head>\
                   <mj-body><mj-section><mj-column><mj-text css-class=\"note\">Thanks {{ name }}, order {{ number }}.</mj-text>\
                   </mj-column></mj-section></mj-body></mjml>",
            format: BodyFormat::Mjml,
            text: None,
            assets: NO_ASSETS,
        };
        let schema = [
            var("name", VariableType::String, true),
            var("number", VariableType::Number, true),
        ];
        let out = render_with(&source, &schema, json!({"name": "Ada", "number": 7})).unwrap();
        assert_eq!(out.subject, "Order 7");
        assert!(out.html.contains("Thanks Ada, order 7."), "{}", out.html);
        assert!(out.text.contains("Thanks Ada, order 7."), "{}", out.text);
    }

    #[test]
    fn data_is_checked_against_the_schema() {
        let schema = [
            var("when", VariableType::Date, true),
            var("link", VariableType::Url, true),
            var("to", VariableType::Email, true),
            Variable {
                default: Some(json!(3)),
                ..var("count", VariableType::Number, true)
            },
        ];
        let err = bind(
            &schema,
            &data(json!({"when": "tomorrow", "link": "javascript:alert(1)"})),
        )
        .unwrap_err();
        assert_eq!(
            err.fields().keys().collect::<Vec<_>>(),
            vec!["data.link", "data.to", "data.when"]
        );
        assert!(bind(&schema, &data(json!({"when": "2026-02-01", "link": "https://a.example/x", "to": "a@b.example"}))).is_ok());
    }

    #[test]
    fn undeclared_and_unused_variables_are_found() {
        let source = Source {
            subject: "Hi {{ name }}",
            body: "{% for item in items %}{{ item }}{{ loop.index }}{% endfor %}{{ range(2)|length }}{{ total }}",
            format: BodyFormat::Html,
            text: None,
            assets: NO_ASSETS,
        };
        let schema = [
            var("name", VariableType::String, true),
            var("items", VariableType::List, true),
            var("unused", VariableType::String, false),
        ];
        let problems = undeclared(&source, &schema);
        assert_eq!(problems.fields().keys().collect::<Vec<_>>(), vec!["body"]);
        assert!(problems.fields()["body"][0].contains("`total`"));
        let warnings = lint(&source, &schema);
        assert!(
            warnings.iter().any(|w| w.contains("`unused`")),
            "{warnings:?}"
        );
        let sample = sample(&schema);
        assert_eq!(sample["items"], json!(["first", "second"]));
    }

    #[test]
    fn lines_and_columns_count_characters() {
        assert_eq!(line_column("ab\ncdé\nf", 0), (1, 1));
        assert_eq!(line_column("ab\ncdé\nf", 3), (2, 1));
        assert_eq!(line_column("ab\ncdé\nf", 8), (3, 1));
    }

    const LOGO: &str = "01JDC0ASSET000000000000001";

    fn with_image(body: &str, links: &AssetLinks) -> Result<Rendered, Vec<Problem>> {
        let source = Source {
            subject: "Hello",
            body,
            format: BodyFormat::Mjml,
            text: Some("Logo: asset:01JDC0ASSET000000000000001 {{ name }}"),
            assets: links,
        };
        render_with(
            &source,
            &[var("name", VariableType::String, true)],
            json!({"name": "asset:01JDC0ASSET000000000000002"}),
        )
    }

    #[test]
    fn template_images_render_to_their_public_urls() {
        let body = format!(
            "<mjml><mj-body><mj-section><mj-column><mj-image src=\"asset:{LOGO}\" alt=\"Logo\" /></mj-column></mj-section></mj-body></mjml>"
        );
        let source = Source {
            subject: "s",
            body: &body,
            format: BodyFormat::Mjml,
            text: None,
            assets: NO_ASSETS,
        };
        assert_eq!(asset_refs(&source), BTreeSet::from([LOGO.to_owned()]));
        let links = AssetLinks::from([(
            LOGO.to_owned(),
            "https://media.example.com/template-assets/logo.png".to_owned(),
        )]);
        let email = with_image(&body, &links).expect("renders");
        assert!(
            email
                .html
                .contains("src=\"https://media.example.com/template-assets/logo.png\""),
            "{}",
            email.html
        );
        assert!(!email.html.contains("asset:"), "{}", email.html);
        assert!(
            email
                .text
                .starts_with("Logo: https://media.example.com/template-assets/logo.png"),
            "{}",
            email.text
        );
        // A reference that arrives in the data is not the template's own: it is never linked.
        assert!(
            email.text.ends_with("asset:01JDC0ASSET000000000000002"),
            "{}",
            email.text
        );
    }

    #[test]
    fn an_unresolved_image_is_a_problem_where_it_is_written() {
        let body = format!("<p>x</p>\n<img src=\"asset:{LOGO}\">");
        let problems = with_image(&body, NO_ASSETS).expect_err("unresolved");
        let body_problem = problems
            .iter()
            .find(|p| p.part == Part::Body)
            .expect("a body problem");
        assert!(body_problem.message.contains(LOGO), "{body_problem:?}");
        assert_eq!(
            (body_problem.line, body_problem.column),
            (Some(2), Some(11))
        );
        assert!(problems.iter().any(|p| p.part == Part::Text));
    }

    #[test]
    fn only_whole_ulids_after_the_scheme_are_references() {
        let text = format!(
            "asset:{LOGO}x passet:{LOGO} asset:short asset:{} asset:{LOGO}.",
            LOGO.to_lowercase()
        );
        let found: Vec<&str> = asset_references(&text).map(|(_, id)| id).collect();
        assert_eq!(found, vec![LOGO]);
    }
}
