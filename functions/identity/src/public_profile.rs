//! Public creator profiles: a page people find by handle
//! (`GET /v1/profiles/{handle}`) with a display name, an avatar, a bio, a
//! website and social links, all optional. A profile is private until its
//! owner makes it public (`PATCH /v1/me/profile`); a private profile is a
//! 404 to everyone. Nothing of the account (email, phone, name, role) is
//! ever part of it: the profile is its own item with its own fields.
//!
//! Items (see docs/data-model.md, "Public profile"):
//! - `USER#<id> / PUBLIC_PROFILE`: the profile, with `version` (the ETag)
//!   and the handles it gave up that still redirect.
//! - `HANDLE#<handle> / HANDLE`: the uniqueness marker, written in the same
//!   transaction as the profile with `attribute_not_exists(PK)` (or the
//!   owner's own, or a retired one past its 30 days). When the owner
//!   changes handle the old marker is kept as retired for 30 days
//!   (`retiredUntil`, and a `ttl` just after): the old handle answers with
//!   the profile, whose `handle` is the new one; then anyone may take it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::{now_epoch, now_rfc3339, strip_html};
use shared::http::{
    ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope, Problems, etag, if_match,
};
use shared::store::{Store, TransactWriteItem, Transaction, n, s};
use utoipa::ToSchema;

use crate::IdentityState;

pub const PROFILE_TYPE: &str = "PUBLIC_PROFILE";
pub const HANDLE_TYPE: &str = "HANDLE_MARKER";
const PROFILE_SK: &str = "PUBLIC_PROFILE";
const HANDLE_SK: &str = "HANDLE";
/// How long an old handle keeps answering with the profile.
pub const REDIRECT_SECS: i64 = 30 * 24 * 3600;
const MIN_HANDLE: usize = 3;
const MAX_HANDLE: usize = 30;
const MAX_DISPLAY_NAME: usize = 60;
const MAX_BIO: usize = 500;
const MAX_URL: usize = 200;
const MAX_SOCIAL_LINKS: usize = 5;
/// Handles that would read as the platform speaking.
const RESERVED_HANDLES: &[&str] = &[
    "admin",
    "administrator",
    "api",
    "bodega",
    "help",
    "me",
    "moderator",
    "root",
    "settings",
    "support",
    "system",
];

fn profile_key(user_id: &str) -> (String, &'static str) {
    (format!("USER#{user_id}"), PROFILE_SK)
}

fn handle_key(handle: &str) -> (String, &'static str) {
    (format!("HANDLE#{handle}"), HANDLE_SK)
}

/// A handle: 3 to 30 of `a-z`, `0-9`, `_` and `-`, starting and ending
/// with a letter or digit; sent in any case (and with a leading `@`),
/// kept in lower case.
pub fn parse_handle(raw: &str) -> Result<String, String> {
    let handle = raw.trim().trim_start_matches('@').to_lowercase();
    let chars = handle.chars().count();
    let allowed = handle
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !(MIN_HANDLE..=MAX_HANDLE).contains(&chars)
        || !allowed
        || !ends(handle.chars().next())
        || !ends(handle.chars().last())
    {
        return Err(format!(
            "must be {MIN_HANDLE} to {MAX_HANDLE} letters, digits, _ or -, starting and ending with a letter or digit"
        ));
    }
    if RESERVED_HANDLES.contains(&handle.as_str()) {
        return Err("is reserved".to_owned());
    }
    Ok(handle)
}

/// An `http(s)` URL of at most 200 characters with a host name, without
/// spaces, quotes or angle brackets (nothing that could leave an attribute).
pub fn parse_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    let problem = || {
        Err(format!(
            "must be an http or https URL of at most {MAX_URL} characters"
        ))
    };
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return problem();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    let text_ok = url.chars().all(|c| {
        !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'' | '`')
    });
    if raw.chars().count() > MAX_URL || !host_ok || !text_ok {
        return problem();
    }
    Ok(url.to_owned())
}

/// A handle given up, answering with the profile until `until` (epoch s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviousHandle {
    pub handle: String,
    pub until: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_asset_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default)]
    pub social_links: Vec<String>,
    #[serde(default)]
    pub is_public: bool,
    #[serde(default)]
    pub previous_handles: Vec<PreviousHandle>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

impl ProfileRecord {
    /// The profile of someone who never set one: private, empty, version 0.
    fn empty(user_id: &str) -> Self {
        let (pk, sk) = profile_key(user_id);
        let now = now_rfc3339();
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: PROFILE_TYPE.to_owned(),
            user_id: user_id.to_owned(),
            handle: None,
            display_name: None,
            avatar_asset_id: None,
            bio: None,
            website: None,
            social_links: Vec::new(),
            is_public: false,
            previous_handles: Vec::new(),
            version: 0,
            created_at: now.clone(),
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandleMarker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    user_id: String,
    /// Set once the owner moved to another handle: it answers until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired_until: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
}

impl HandleMarker {
    fn live(handle: &str, user_id: &str) -> Self {
        let (pk, sk) = handle_key(handle);
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: HANDLE_TYPE.to_owned(),
            user_id: user_id.to_owned(),
            retired_until: None,
            ttl: None,
        }
    }

    fn answers(&self, now: i64) -> bool {
        self.retired_until.is_none_or(|until| until > now)
    }
}

/// A public profile: nothing personal, only what its owner published.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfileView {
    /// The current handle: when the profile was asked for by an old one,
    /// this is the new one to link to.
    #[schema(example = "ada-designs")]
    pub handle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Ada's Prints")]
    pub display_name: Option<String>,
    /// An image the owner uploaded (`GET /v1/assets/{assetId}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_asset_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Patterns from the Lisbon tiles.")]
    pub bio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "https://ada.example.com")]
    pub website: Option<String>,
    pub social_links: Vec<String>,
}

impl PublicProfileView {
    fn of(record: ProfileRecord) -> Option<Self> {
        Some(Self {
            handle: record.handle?,
            display_name: record.display_name,
            avatar_asset_id: record.avatar_asset_id,
            bio: record.bio,
            website: record.website,
            social_links: record.social_links,
        })
    }
}

/// An old handle that still answers with the profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviousHandleView {
    pub handle: String,
    /// Until when `GET /v1/profiles/{handle}` answers with this profile.
    pub redirects_until: String,
}

/// The signed-in person's own profile, public or not.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyProfileView {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "ada-designs")]
    pub handle: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_asset_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    pub social_links: Vec<String>,
    /// Private (the default) profiles are a 404 to everyone.
    pub is_public: bool,
    pub previous_handles: Vec<PreviousHandleView>,
    /// 0 until the profile is first saved; also the ETag.
    pub version: u64,
}

impl From<ProfileRecord> for MyProfileView {
    fn from(r: ProfileRecord) -> Self {
        let now = now_epoch();
        Self {
            handle: r.handle,
            display_name: r.display_name,
            avatar_asset_id: r.avatar_asset_id,
            bio: r.bio,
            website: r.website,
            social_links: r.social_links,
            is_public: r.is_public,
            previous_handles: r
                .previous_handles
                .into_iter()
                .filter(|p| p.until > now)
                .map(|p| PreviousHandleView {
                    handle: p.handle,
                    redirects_until: shared::domain::epoch_to_rfc3339(p.until),
                })
                .collect(),
            version: r.version,
        }
    }
}

fn with_etag(record: ProfileRecord) -> ApiResponse<MyProfileView> {
    let version = record.version;
    ApiResponse::ok(MyProfileView::from(record)).header(header::ETAG, etag(version))
}

async fn load(store: &Store, user_id: &str) -> ApiResult<ProfileRecord> {
    let (pk, sk) = profile_key(user_id);
    Ok(store
        .get::<ProfileRecord>(&pk, sk)
        .await?
        .unwrap_or_else(|| ProfileRecord::empty(user_id)))
}

fn no_profile() -> ApiError {
    ApiError::not_found("no such profile")
}

/// A public profile by handle. An old handle (changed in the last 30 days)
/// answers 200 with the profile, whose `handle` is the current one, and
/// `Content-Location` names the current URL. A private profile, an unknown
/// handle and a handle that is not one are all 404.
#[utoipa::path(
    get,
    path = "/v1/profiles/{handle}",
    tag = "identity",
    params(("handle" = String, Path, description = "The handle, any case, with or without @")),
    responses(
        (status = 200, description = "The public profile; asked by an old handle, its `handle` is the current one",
         body = Envelope<PublicProfileView>,
         headers(("Content-Location" = String, description = "/v1/profiles/<current handle>"))),
        (status = 404, description = "No public profile with this handle", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn get_profile(
    State(state): State<IdentityState>,
    Path(raw): Path<String>,
) -> ApiResult<ApiResponse<PublicProfileView>> {
    let handle = parse_handle(&raw).map_err(|_| no_profile())?;
    let (pk, sk) = handle_key(&handle);
    let marker = state
        .store
        .get::<HandleMarker>(&pk, sk)
        .await?
        .filter(|m| m.answers(now_epoch()))
        .ok_or_else(no_profile)?;
    let record = load(&state.store, &marker.user_id).await?;
    if !record.is_public {
        return Err(no_profile());
    }
    let view = PublicProfileView::of(record).ok_or_else(no_profile)?;
    let location = HeaderValue::from_str(&format!("/v1/profiles/{}", view.handle))
        .map_err(ApiError::internal)?;
    Ok(ApiResponse::ok(view).header(header::CONTENT_LOCATION, location))
}

/// The signed-in person's own profile (private or public), with its ETag
/// (`"0"` before it is first saved).
#[utoipa::path(
    get,
    path = "/v1/me/profile",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile; the ETag header is its version", body = Envelope<MyProfileView>),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn my_profile(
    State(state): State<IdentityState>,
    principal: Principal,
) -> ApiResult<ApiResponse<MyProfileView>> {
    Ok(with_etag(load(&state.store, &principal.user_id).await?))
}

/// What changes; absent fields stay, `null` removes an optional one. Text
/// loses its HTML tags.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePublicProfile {
    /// Unique; the old one answers for 30 days after a change.
    #[schema(
        example = "ada-designs",
        pattern = r"^\s*@?[A-Za-z0-9][A-Za-z0-9_-]{1,28}[A-Za-z0-9]\s*$"
    )]
    handle: Option<String>,
    #[serde(default, deserialize_with = "crate::profile::double_option")]
    #[schema(value_type = Option<String>, max_length = 60, example = "Ada's Prints")]
    display_name: Option<Option<String>>,
    /// A ready image you uploaded (purpose `design_artwork`).
    #[serde(default, deserialize_with = "crate::profile::double_option")]
    #[schema(value_type = Option<String>)]
    avatar_asset_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::profile::double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::profile::double_option")]
    #[schema(value_type = Option<String>, max_length = 200, example = "https://ada.example.com")]
    website: Option<Option<String>>,
    /// Up to 5 http(s) URLs; replaces the list.
    #[schema(max_items = 5)]
    social_links: Option<Vec<String>>,
    /// Public profiles need a handle.
    is_public: Option<bool>,
}

/// An asset id: a ULID (26 characters of Crockford's base 32).
fn is_asset_id(raw: &str) -> bool {
    raw.len() == 26
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

/// A checked change.
struct ProfileChange {
    handle: Option<String>,
    display_name: Option<Option<String>>,
    avatar_asset_id: Option<Option<String>>,
    bio: Option<Option<String>>,
    website: Option<Option<String>>,
    social_links: Option<Vec<String>>,
    is_public: Option<bool>,
}

/// Optional text: HTML removed, trimmed, blank counts as removed.
fn optional_text(
    problems: &mut Problems,
    field: &str,
    raw: Option<Option<String>>,
    max: usize,
) -> Option<Option<String>> {
    raw.map(|value| {
        value.and_then(|v| {
            // The limit holds for what was sent, before tags and spaces go.
            if v.chars().count() > max {
                problems.add(field, format!("must be at most {max} characters"));
                return None;
            }
            let text = problems.text(field, &strip_html(&v), 0, max);
            (!text.is_empty()).then_some(text)
        })
    })
}

impl TryFrom<UpdatePublicProfile> for ProfileChange {
    type Error = ApiError;

    fn try_from(request: UpdatePublicProfile) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let handle = request
            .handle
            .and_then(|h| problems.parsed("handle", parse_handle(&h)));
        let display_name = optional_text(
            &mut problems,
            "displayName",
            request.display_name,
            MAX_DISPLAY_NAME,
        );
        if let Some(Some(name)) = &display_name
            && name.contains('\n')
        {
            problems.add("displayName", "must be one line");
        }
        let bio = optional_text(&mut problems, "bio", request.bio, MAX_BIO);
        let website = request
            .website
            .map(|w| w.and_then(|w| problems.parsed("website", parse_url(&w))));
        let avatar_asset_id = request.avatar_asset_id.map(|a| {
            a.and_then(|a| {
                let id = a.trim().to_owned();
                let ok = is_asset_id(&id);
                if !ok {
                    problems.add("avatarAssetId", "must be an asset id");
                }
                ok.then_some(id)
            })
        });
        let social_links = request.social_links.map(|links| {
            if links.len() > MAX_SOCIAL_LINKS {
                problems.add("socialLinks", format!("at most {MAX_SOCIAL_LINKS} links"));
            }
            let mut kept: Vec<String> = Vec::new();
            for (i, link) in links.iter().enumerate() {
                match parse_url(link) {
                    Ok(url) if !kept.contains(&url) => kept.push(url),
                    Ok(_) => problems.add(format!("socialLinks[{i}]"), "is listed twice"),
                    Err(message) => problems.add(format!("socialLinks[{i}]"), message),
                }
            }
            kept
        });
        problems.finish("the profile has invalid fields", || Self {
            handle,
            display_name,
            avatar_asset_id,
            bio,
            website,
            social_links,
            is_public: request.is_public,
        })
    }
}

/// A ConditionCheck (named `avatar`): the asset is a ready image that
/// `user_id` uploaded.
fn require_own_image(store: &Store, asset_id: &str, user_id: &str) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = shared::asset_refs::asset_key(asset_id);
    Ok(store.transact_check(
        &pk,
        sk,
        "#status = :ready AND purpose = :purpose AND #owner.#kind = :user AND #owner.#id = :me",
        &[
            ("#status", "status"),
            ("#owner", "owner"),
            ("#kind", "kind"),
            ("#id", "id"),
        ],
        &[
            (":ready", s("ready")),
            (":purpose", s("design_artwork")),
            (":user", s("user")),
            (":me", s(user_id)),
        ],
    )?)
}

/// Changes the signed-in person's public profile (creating it the first
/// time). With `If-Match`, only if it is still at that version (else 412).
#[utoipa::path(
    patch,
    path = "/v1/me/profile",
    tag = "identity",
    security(("bearer" = [])),
    request_body = UpdatePublicProfile,
    params(("If-Match" = Option<String>, Header, description = "The ETag from GET /v1/me/profile", pattern = r#"^(\*|"[0-9]{1,19}")$"#)),
    responses(
        (status = 200, description = "The profile with its new ETag", body = Envelope<MyProfileView>),
        (status = 409, description = "The handle is taken (error.fields.handle), or the profile changed meanwhile (without If-Match)", body = ErrorEnvelope),
        (status = 412, description = "The profile changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_my_profile(
    State(state): State<IdentityState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdatePublicProfile>,
) -> ApiResult<ApiResponse<MyProfileView>> {
    let change = ProfileChange::try_from(request)?;
    let expected = if_match(&headers)?;
    let store = &state.store;
    let current = load(store, &principal.user_id).await?;
    if expected.is_some_and(|v| v != current.version) {
        return Err(ApiError::precondition_failed(
            "the profile changed since that ETag; fetch it again",
        ));
    }
    let now = now_epoch();
    let mut next = current.clone();
    if let Some(v) = change.display_name {
        next.display_name = v;
    }
    if let Some(v) = change.bio {
        next.bio = v;
    }
    if let Some(v) = change.website {
        next.website = v;
    }
    if let Some(v) = change.avatar_asset_id.clone() {
        next.avatar_asset_id = v;
    }
    if let Some(v) = change.social_links {
        next.social_links = v;
    }
    if let Some(v) = change.is_public {
        next.is_public = v;
    }
    let new_handle = change
        .handle
        .filter(|h| current.handle.as_deref() != Some(h.as_str()));
    if let Some(handle) = &new_handle {
        next.handle = Some(handle.clone());
    }
    if next.is_public && next.handle.is_none() {
        return Err(ApiError::invalid_field(
            "isPublic",
            "a public profile needs a handle",
        ));
    }
    next.previous_handles.retain(|p| p.until > now);
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();

    let mut tx = Transaction::new();
    if let Some(handle) = &new_handle {
        next.previous_handles.retain(|p| &p.handle != handle);
        let marker = HandleMarker::live(handle, &principal.user_id);
        tx.push(store.transact_put_with(
            &marker,
            "attribute_not_exists(PK) OR userId = :me OR retiredUntil < :now",
            &[(":me", s(&principal.user_id)), (":now", n(now))],
        )?)
        .named("handle");
        if let Some(old) = &current.handle {
            let until = now + REDIRECT_SECS;
            let mut retired = HandleMarker::live(old, &principal.user_id);
            retired.retired_until = Some(until);
            retired.ttl = Some(until + 24 * 3600);
            tx.push(store.transact_put_with(
                &retired,
                "userId = :me",
                &[(":me", s(&principal.user_id))],
            )?)
            .named("old_handle");
            next.previous_handles.push(PreviousHandle {
                handle: old.clone(),
                until,
            });
        }
    }
    if let Some(Some(asset_id)) = &change.avatar_asset_id {
        tx.push(require_own_image(store, asset_id, &principal.user_id)?)
            .named("avatar");
    }
    let profile = if current.version == 0 {
        store.transact_put(&next, Some("attribute_not_exists(PK)"))?
    } else {
        store.transact_put_if_version(&next, current.version)?
    };
    tx.push(profile).named("profile");
    match store.transact(tx).await {
        Ok(()) => Ok(with_etag(next)),
        Err(err) if err.condition_failed("handle") => Err(ApiError::conflict_on(
            "handle",
            "this handle is taken; choose another",
        )),
        Err(err) if err.condition_failed("avatar") => Err(ApiError::invalid_field(
            "avatarAssetId",
            "must be a ready image you uploaded (purpose design_artwork)",
        )),
        Err(err) if err.condition_failed("profile") && expected.is_some() => Err(
            ApiError::precondition_failed("the profile changed since that ETag; fetch it again"),
        ),
        Err(err) if err.condition_failed("profile") || err.condition_failed("old_handle") => Err(
            ApiError::conflict("the profile changed meanwhile; fetch it again"),
        ),
        Err(err) => Err(err.into()),
    }
}

/// For the account's erasure: deletes the profile, its handle and the old
/// handles that still answer, in the erasure's transaction.
pub async fn erase_profile(store: &Store, tx: &mut Transaction, user_id: &str) -> ApiResult<()> {
    let record = load(store, user_id).await?;
    if record.version == 0 {
        return Ok(());
    }
    tx.push(store.transact_delete(&record.pk, &record.sk, None, &[])?);
    let now = now_epoch();
    let handles = record.handle.iter().chain(
        record
            .previous_handles
            .iter()
            .filter(|p| p.until > now)
            .map(|p| &p.handle),
    );
    for handle in handles {
        let (pk, sk) = handle_key(handle);
        tx.push(store.transact_delete(
            &pk,
            sk,
            Some("attribute_not_exists(PK) OR userId = :me"),
            &[(":me", s(user_id))],
        )?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_lower_case_words_that_are_not_reserved() {
        assert_eq!(parse_handle(" @Ada_Designs ").unwrap(), "ada_designs");
        assert_eq!(parse_handle("a-1").unwrap(), "a-1");
        for bad in [
            "ab",
            "-ada",
            "ada-",
            "ada designs",
            "ädä",
            "admin",
            &"a".repeat(31),
        ] {
            assert!(parse_handle(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_http_with_a_host_and_nothing_that_escapes() {
        assert_eq!(
            parse_url(" https://ada.example.com/prints?x=1 ").unwrap(),
            "https://ada.example.com/prints?x=1"
        );
        assert!(parse_url("http://localhost:8080").is_err());
        for bad in [
            "javascript:alert(1)",
            "ftp://ada.example.com",
            "https://",
            "https://ada.example.com/\"onmouseover=x",
            "https://ada.example.com/<b>",
            "https://ada example.com",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_retired_handle_answers_for_its_thirty_days_only() {
        let mut marker = HandleMarker::live("ada", "u1");
        assert!(marker.answers(1_000));
        marker.retired_until = Some(1_000 + REDIRECT_SECS);
        assert!(marker.answers(1_001));
        assert!(!marker.answers(1_000 + REDIRECT_SECS));
    }
}
