//! Designs: create (202, drawn in the background), read, list mine, edit,
//! delete. A design that is not public and ready is a 404 to everyone but
//! its owner.

use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, ETAG};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::{new_id, now_epoch, now_rfc3339};
use shared::http::{
    ApiError, ApiJson, ApiQuery, ApiResponse, ApiResult, ClientInfo, Envelope, ErrorEnvelope,
    PageParams, Problems, etag, if_match,
};
use shared::store::{Index, PartitionQuery, Store, StoreError, Transaction, Update, attr, n, s};
use utoipa::ToSchema;

use crate::limits;
use crate::model::{
    DESIGN_TYPE, DesignCategory, DesignRecord, DesignStatus, DesignStyle, DesignView, design_key,
    gallery_partition, hot_sort_key, owner_partition,
};
use crate::providers::{ModerationModel, Verdict};
use crate::{StudioState, blocklist, gallery};

pub const MAX_COLORS: usize = 5;
pub const MAX_TAGS: usize = 10;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDesignRequest {
    /// 1 to 100 characters.
    #[schema(example = "Poppy field sundress")]
    pub title: String,
    /// Up to 1000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// What to draw: 3 to 1000 characters.
    #[schema(example = "red poppies scattered on a light summer dress")]
    pub prompt: String,
    #[schema(value_type = DesignCategory)]
    pub category: String,
    #[schema(value_type = DesignStyle)]
    pub style: String,
    /// 1 to 5 colours, `#rrggbb`.
    #[schema(example = json!(["#cc2233", "#1144aa"]))]
    pub colors: Vec<String>,
    /// Up to 10 tags: letters, digits and hyphens, 1 to 30 characters.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Whether the gallery shows it once ready.
    pub is_public: bool,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateDesignRequest {
    pub title: Option<String>,
    /// An empty text removes the description.
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
    pub is_public: Option<bool>,
}

/// A checked new design.
struct NewDesign {
    title: String,
    description: Option<String>,
    prompt: String,
    category: DesignCategory,
    style: DesignStyle,
    colors: Vec<String>,
    tags: Vec<String>,
    is_public: bool,
}

fn check_color(raw: &str) -> Result<String, String> {
    let lower = raw.trim().to_ascii_lowercase();
    let ok = lower.len() == 7
        && lower.starts_with('#')
        && lower[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(lower)
    } else {
        Err(format!("{raw:?} is not a #rrggbb colour"))
    }
}

fn check_tags(problems: &mut Problems, raw: &[String]) -> Vec<String> {
    if raw.len() > MAX_TAGS {
        problems.add("tags", format!("at most {MAX_TAGS} tags"));
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim().to_lowercase();
        let valid = (1..=30).contains(&tag.chars().count())
            && tag.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !valid {
            problems.add(
                "tags",
                format!("{tag:?}: 1 to 30 letters, digits or hyphens"),
            );
        } else if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn check_description(problems: &mut Problems, raw: Option<&str>) -> Option<String> {
    match raw.map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(problems.text("description", text, 1, 1000)),
    }
}

impl TryFrom<CreateDesignRequest> for NewDesign {
    type Error = ApiError;

    fn try_from(request: CreateDesignRequest) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let title = problems.text("title", &request.title, 1, 100);
        let description = check_description(&mut problems, request.description.as_deref());
        let prompt = problems.text("prompt", &request.prompt, 3, 1000);
        let category = DesignCategory::parse(&request.category);
        if category.is_none() {
            problems.add("category", "must be dress, shirt, pants or accessories");
        }
        let style = DesignStyle::parse(&request.style);
        if style.is_none() {
            problems.add("style", "must be casual, formal, sporty or vintage");
        }
        if request.colors.is_empty() || request.colors.len() > MAX_COLORS {
            problems.add("colors", format!("1 to {MAX_COLORS} colours"));
        }
        let mut colors = Vec::new();
        for raw in &request.colors {
            match check_color(raw) {
                Ok(c) if colors.contains(&c) => problems.add("colors", format!("{c} twice")),
                Ok(c) => colors.push(c),
                Err(message) => problems.add("colors", message),
            }
        }
        let tags = check_tags(&mut problems, request.tags.as_deref().unwrap_or_default());
        problems.finish("the design is not valid", || NewDesign {
            title,
            description,
            prompt,
            category: category.unwrap_or(DesignCategory::Dress),
            style: style.unwrap_or(DesignStyle::Casual),
            colors,
            tags,
            is_public: request.is_public,
        })
    }
}

/// A 422 naming the category a prompt was refused for.
fn blocked_prompt(category: &str) -> ApiError {
    let mut problems = Problems::default();
    problems.add("prompt", format!("refused: {category}"));
    ApiError::validation(
        format!("the prompt was refused ({category})"),
        shared::http::FieldErrors::from(problems),
    )
    .with_details(serde_json::json!({ "category": category }))
}

/// The gallery keys of a design that is listed, or none.
pub fn gallery_keys(record: &DesignRecord) -> Option<[(String, String); 2]> {
    record.listed().then(|| {
        let partition = gallery_partition(record.category);
        [
            (partition.clone(), record.id.clone()),
            (
                partition,
                hot_sort_key(record.likes, record.created_epoch, &record.id),
            ),
        ]
    })
}

#[utoipa::path(
    post,
    path = "/v1/designs",
    tag = "studio",
    security(("bearer" = [])),
    request_body = CreateDesignRequest,
    responses(
        (status = 202, description = "The design, `generating`; GET it until it is ready. The ETag header is its version", body = Envelope<DesignView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 422, description = "A field is not valid, or the prompt was refused (`details.category` names why)", body = ErrorEnvelope),
        (status = 429, description = "Ten designs in the last hour already, or generation suspended after repeated refused prompts; see Retry-After", body = ErrorEnvelope),
        (status = 503, description = "The generation queue is not configured or did not take the design", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
pub async fn create_design(
    State(state): State<StudioState>,
    principal: Principal,
    ApiJson(request): ApiJson<CreateDesignRequest>,
) -> ApiResult<ApiResponse<DesignView>> {
    let design = NewDesign::try_from(request)?;
    let Some(queue) = state.queue.clone() else {
        return Err(ApiError::unavailable(anyhow::anyhow!(
            "STUDIO_QUEUE_URL is not set: designs cannot be generated"
        )));
    };
    let texts = [design.prompt.as_str(), design.title.as_str()]
        .into_iter()
        .chain(design.description.as_deref())
        .chain(design.tags.iter().map(String::as_str));
    if let Some(blocked) = blocklist::check(texts) {
        limits::record_block(&state.store, &principal, blocked.category, "blocklist").await?;
        return Err(blocked_prompt(blocked.category));
    }
    if let Some(moderation) = &state.moderation {
        let verdict = moderation
            .check(&design.prompt)
            .await
            .map_err(|e| ApiError::unavailable(e.context("asking the moderation provider")))?;
        if let Verdict::Flagged(category) = verdict {
            limits::record_block(&state.store, &principal, &category, "moderation").await?;
            return Err(blocked_prompt(&category));
        }
    }
    let id = new_id();
    let now = now_rfc3339();
    let (pk, sk) = design_key(&id);
    let mut record = DesignRecord {
        pk,
        sk: sk.to_owned(),
        item_type: DESIGN_TYPE.to_owned(),
        gsi1pk: owner_partition(&principal.user_id),
        gsi1sk: format!("DESIGN#{id}"),
        gsi2pk: None,
        gsi2sk: None,
        gsi3pk: None,
        gsi3sk: None,
        id: id.clone(),
        owner_id: principal.user_id.clone(),
        title: design.title,
        description: design.description,
        prompt: design.prompt,
        category: design.category,
        style: design.style,
        colors: design.colors,
        tags: design.tags,
        is_public: design.is_public,
        status: DesignStatus::Generating,
        status_reason: None,
        image: None,
        generation: None,
        palette_score: None,
        dominant_colors: Vec::new(),
        provider_job: None,
        slot: 0,
        likes: 0,
        views: 0,
        like_events: 0,
        created_epoch: now_epoch(),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
        held_at: None,
    };
    // Another request may take the slot we found first: look again.
    let mut attempt = 0;
    loop {
        let slot = limits::free_slot(&state.store, &principal.user_id).await?;
        record.slot = slot.index;
        let mut tx = Transaction::new();
        tx.push(
            state
                .store
                .transact_put(&record, Some("attribute_not_exists(PK)"))?,
        );
        tx.push(limits::take_slot(
            &state.store,
            &principal.user_id,
            slot,
            &id,
        )?)
        .named("slot");
        match state.store.transact(tx).await {
            Ok(()) => break,
            Err(err) if err.condition_failed("slot") && attempt < 3 => attempt += 1,
            Err(err) if err.condition_failed("slot") => {
                return Err(ApiError::rate_limited(
                    "too many designs at once; try again",
                    1,
                ));
            }
            Err(err) => return Err(ApiError::from(err).context("creating the design")),
        }
    }
    let body = serde_json::json!({ "designId": id }).to_string();
    if let Err(err) = queue
        .sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(body)
        .send()
        .await
    {
        crate::worker::finish_unlisted(
            &state,
            &record,
            DesignStatus::Failed,
            "the generation queue did not take the design",
        )
        .await;
        return Err(ApiError::unavailable(
            anyhow::Error::new(err).context("queueing the design's generation"),
        ));
    }
    let version = record.version;
    Ok(ApiResponse::ok(DesignView::from(record))
        .with_status(StatusCode::ACCEPTED)
        .header(ETAG, etag(version)))
}

/// Who is reading: a signed-in user, or an anonymous visitor. A malformed
/// or expired token is still a 401, as on every other route.
pub struct Viewer {
    pub user: Option<Principal>,
    pub client: ClientInfo,
}

impl axum::extract::FromRequestParts<StudioState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &StudioState,
    ) -> Result<Self, Self::Rejection> {
        let user = if parts.headers.contains_key(AUTHORIZATION) {
            Some(Principal::from_request_parts(parts, state).await?)
        } else {
            None
        };
        let client = match ClientInfo::from_request_parts(parts, state).await {
            Ok(client) => client,
            Err(never) => match never {},
        };
        Ok(Self { user, client })
    }
}

impl Viewer {
    fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|p| p.user_id.as_str())
    }
}

/// The design, if it exists.
pub async fn find(store: &Store, id: &str) -> ApiResult<Option<DesignRecord>> {
    let (pk, sk) = design_key(id);
    Ok(store.get::<DesignRecord>(&pk, sk).await?)
}

fn not_found() -> ApiError {
    ApiError::not_found("no such design")
}

/// The design as `viewer` may see it: the owner sees it in every state,
/// others only while it is public and ready.
pub async fn visible(store: &Store, id: &str, viewer: Option<&str>) -> ApiResult<DesignRecord> {
    match find(store, id).await? {
        Some(record) if viewer == Some(record.owner_id.as_str()) || record.listed() => Ok(record),
        _ => Err(not_found()),
    }
}

/// The design if `user_id` owns it; a 404 otherwise.
async fn owned(store: &Store, id: &str, user_id: &str) -> ApiResult<DesignRecord> {
    match find(store, id).await? {
        Some(record) if record.owner_id == user_id => Ok(record),
        _ => Err(not_found()),
    }
}

#[utoipa::path(
    get,
    path = "/v1/designs/{designId}",
    tag = "studio",
    security((), ("bearer" = [])),
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 200, description = "The design; the ETag header is its version. A view is counted once per viewer per day", body = Envelope<DesignView>),
        (status = 401, description = "A bearer token that is not valid", body = ErrorEnvelope),
        (status = 404, description = "No such design, or not public and not yours", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn get_design(
    State(state): State<StudioState>,
    viewer: Viewer,
    Path(design_id): Path<String>,
) -> ApiResult<ApiResponse<DesignView>> {
    let mut record = visible(&state.store, &design_id, viewer.user_id()).await?;
    if record.status == DesignStatus::Ready
        && viewer.user_id() != Some(record.owner_id.as_str())
        && gallery::count_view(&state, &record.id, &viewer).await?
    {
        record.views += 1;
    }
    let version = record.version;
    Ok(ApiResponse::ok(DesignView::from(record)).header(ETAG, etag(version)))
}

#[utoipa::path(
    get,
    path = "/v1/me/designs",
    tag = "studio",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "The caller's designs in every state, newest first", body = Envelope<Vec<DesignView>>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(user_id = %principal.user_id))]
pub async fn list_my_designs(
    State(state): State<StudioState>,
    principal: Principal,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<ApiResponse<Vec<DesignView>>> {
    let limit = page.limit();
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: owner_partition(&principal.user_id),
        sort_prefix: Some("DESIGN#".into()),
        ascending: false,
    };
    let found = state
        .store
        .query_page::<DesignRecord>(&query, limit, page.cursor())
        .await?;
    let views = found.items.into_iter().map(DesignView::from).collect();
    Ok(ApiResponse::ok(views).paginated(found.next_cursor, limit))
}

#[utoipa::path(
    patch,
    path = "/v1/designs/{designId}",
    tag = "studio",
    security(("bearer" = [])),
    params(
        ("designId" = String, Path, description = "The design's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    request_body = UpdateDesignRequest,
    responses(
        (status = 200, description = "The design with its new ETag", body = Envelope<DesignView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such design of yours", body = ErrorEnvelope),
        (status = 409, description = "The design changed meanwhile (without If-Match)", body = ErrorEnvelope),
        (status = 412, description = "The design changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is not valid", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn update_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateDesignRequest>,
) -> ApiResult<ApiResponse<DesignView>> {
    let expected = if_match(&headers)?;
    let mut problems = Problems::default();
    let title = request
        .title
        .as_deref()
        .map(|t| problems.text("title", t, 1, 100));
    let description = request
        .description
        .as_deref()
        .map(|d| check_description(&mut problems, Some(d)));
    let tags = request
        .tags
        .as_deref()
        .map(|t| check_tags(&mut problems, t));
    problems.finish("the change is not valid", || ())?;
    let texts = title
        .iter()
        .map(String::as_str)
        .chain(description.iter().flatten().map(String::as_str))
        .chain(tags.iter().flatten().map(String::as_str));
    if let Some(blocked) = blocklist::check(texts) {
        limits::record_block(&state.store, &principal, blocked.category, "blocklist").await?;
        return Err(blocked_prompt(blocked.category));
    }
    let mut record = owned(&state.store, &design_id, &principal.user_id).await?;
    if expected.is_some_and(|v| v != record.version) {
        return Err(ApiError::precondition_failed(
            "If-Match does not match the current ETag",
        ));
    }
    let seen = record.version;
    if let Some(title) = title {
        record.title = title;
    }
    if let Some(description) = description {
        record.description = description;
    }
    if let Some(tags) = tags {
        record.tags = tags;
    }
    if let Some(public) = request.is_public {
        record.is_public = public;
    }
    record.version += 1;
    record.updated_at = now_rfc3339();
    let mut set = vec![
        "title = :title",
        "tags = :tags",
        "isPublic = :public",
        "#version = :version",
        "updatedAt = :at",
    ];
    let mut remove = Vec::new();
    let mut values = vec![
        (":seen", n(seen as i64)),
        (":title", s(record.title.as_str())),
        (":tags", shared::store::to_value(&record.tags)?),
        (
            ":public",
            aws_sdk_dynamodb::types::AttributeValue::Bool(record.is_public),
        ),
        (":version", n(record.version as i64)),
        (":at", s(record.updated_at.as_str())),
    ];
    match &record.description {
        Some(d) => {
            set.push("description = :description");
            values.push((":description", s(d.as_str())));
        }
        None => remove.push("description"),
    }
    match gallery_keys(&record) {
        Some([(newest_pk, newest_sk), (popular_pk, popular_sk)]) => {
            set.extend([
                "GSI2PK = :g2pk",
                "GSI2SK = :g2sk",
                "GSI3PK = :g3pk",
                "GSI3SK = :g3sk",
            ]);
            values.extend([
                (":g2pk", s(newest_pk.as_str())),
                (":g2sk", s(newest_sk.as_str())),
                (":g3pk", s(popular_pk.as_str())),
                (":g3sk", s(popular_sk.as_str())),
            ]);
        }
        None => remove.extend(["GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"]),
    }
    let mut expression = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    let mut update = Update::new(&record.pk, &record.sk, expression)
        .condition("#version = :seen")
        .name("#version", attr::VERSION);
    for (name, value) in values {
        update = update.value(name, value);
    }
    match state.store.update::<DesignRecord>(update).await {
        Ok(stored) => {
            let version = stored.version;
            Ok(ApiResponse::ok(DesignView::from(stored)).header(ETAG, etag(version)))
        }
        Err(StoreError::ConditionFailed) if expected.is_some() => Err(
            ApiError::precondition_failed("If-Match does not match the current ETag"),
        ),
        Err(StoreError::ConditionFailed) => Err(ApiError::conflict(
            "the design changed meanwhile; read it again and retry",
        )),
        Err(err) => Err(ApiError::from(err).context("updating the design")),
    }
}

#[utoipa::path(
    delete,
    path = "/v1/designs/{designId}",
    tag = "studio",
    security(("bearer" = [])),
    params(
        ("designId" = String, Path, description = "The design's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    responses(
        (status = 204, description = "The design and its images are gone"),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such design of yours", body = ErrorEnvelope),
        (status = 412, description = "The design changed since that ETag", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn delete_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let expected = if_match(&headers)?;
    let record = owned(&state.store, &design_id, &principal.user_id).await?;
    let version = expected.unwrap_or(record.version);
    let delete = state.store.transact_delete(
        &record.pk,
        &record.sk,
        Some("version = :version"),
        &[(":version", n(version as i64))],
    )?;
    match state.store.transact(Transaction::from(vec![delete])).await {
        Ok(()) => {}
        Err(StoreError::TransactionCanceled(_)) => {
            return Err(ApiError::precondition_failed(
                "the design changed since that ETag",
            ));
        }
        Err(err) => return Err(ApiError::from(err).context("deleting the design")),
    }
    crate::worker::delete_images(&state, &record.id).await;
    Ok(StatusCode::NO_CONTENT)
}
