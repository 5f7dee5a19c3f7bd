//! The public gallery, likes and views.
//!
//! The gallery is partitioned by category (GSI2 newest, GSI3 popular, both
//! `STUDIO#GALLERY#<category>`), so no single partition takes every read
//! and write. With a category the page is one Query; without one, the four
//! partitions are queried and merged by sort key, and the cursor carries
//! one position per partition (each checked like any cursor).
//!
//! A like is a marker item `LIKE#<userId>` put only if absent, in the same
//! transaction as `ADD likes 1`: concurrent likes each count exactly once,
//! a repeated like changes nothing. The popular sort key (the hot score)
//! is then set from the count read back, only if no later like or unlike
//! has scored it already (`likeEvents` orders them).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use shared::auth::Principal;
use shared::domain::now_epoch;
use shared::http::{ApiError, ApiQuery, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{
    Index, PartitionQuery, QueryRefinement, Store, StoreError, Transaction, Update, Value,
    encode_cursor, n, s,
};
use utoipa::IntoParams;

use crate::StudioState;
use crate::designs::{Viewer, visible};
use crate::model::{
    DesignCategory, DesignRecord, DesignStyle, DesignView, LIKE_TYPE, VIEW_TYPE, design_key,
    gallery_partition, hot_sort_key,
};

shared::string_enum! {
    /// The gallery's order: `newest` first, or `popular` (hot score).
    GallerySort { Newest = "newest", Popular = "popular", }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GalleryParams {
    /// `newest` (default) or `popular`.
    #[param(value_type = Option<GallerySort>, inline)]
    pub sort: Option<String>,
    #[param(value_type = Option<DesignCategory>)]
    pub category: Option<String>,
    #[param(value_type = Option<DesignStyle>)]
    pub style: Option<String>,
    /// One tag.
    pub tag: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[serde(default, deserialize_with = "shared::http::page_limit")]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `pagination.nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// Where each partition's page goes on from; `None`: the partition is done.
type Positions = BTreeMap<String, Option<String>>;

fn bad_cursor() -> ApiError {
    ApiError::bad_request("the cursor is not valid for this list; start again without it")
}

fn decode_positions(raw: &str, categories: &[DesignCategory]) -> ApiResult<Positions> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad_cursor())?;
    let positions: Positions = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    let expected: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    if positions.len() != expected.len() || !expected.iter().all(|c| positions.contains_key(*c)) {
        return Err(bad_cursor());
    }
    Ok(positions)
}

fn encode_positions(positions: &Positions) -> Option<String> {
    positions
        .values()
        .any(Option::is_some)
        .then(|| URL_SAFE_NO_PAD.encode(serde_json::to_vec(positions).unwrap_or_default()))
}

/// The cursor that goes on right after `record` in its gallery partition.
fn cursor_after(record: &DesignRecord, sort: GallerySort) -> String {
    let (pk_name, sk_name, pk, sk) = match sort {
        GallerySort::Newest => ("GSI2PK", "GSI2SK", &record.gsi2pk, &record.gsi2sk),
        GallerySort::Popular => ("GSI3PK", "GSI3SK", &record.gsi3pk, &record.gsi3sk),
    };
    let key: HashMap<String, Value> = [
        ("PK", Some(&record.pk)),
        ("SK", Some(&record.sk)),
        (pk_name, pk.as_ref()),
        (sk_name, sk.as_ref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name.to_owned(), s(v.as_str()))))
    .collect();
    encode_cursor(&key)
}

fn sort_key(record: &DesignRecord, sort: GallerySort) -> &str {
    match sort {
        GallerySort::Newest => record.gsi2sk.as_deref().unwrap_or_default(),
        GallerySort::Popular => record.gsi3sk.as_deref().unwrap_or_default(),
    }
}

#[utoipa::path(
    get,
    path = "/v1/gallery",
    tag = "studio",
    params(GalleryParams),
    responses(
        (status = 200, description = "Public, ready designs, newest or most popular first", body = Envelope<Vec<DesignView>>),
        (status = 400, description = "A parameter or the cursor is not valid", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_gallery(
    State(state): State<StudioState>,
    ApiQuery(params): ApiQuery<GalleryParams>,
) -> ApiResult<ApiResponse<Vec<DesignView>>> {
    let sort = match params.sort.as_deref() {
        None => GallerySort::Newest,
        Some(raw) => GallerySort::parse(raw)
            .ok_or_else(|| ApiError::bad_request("sort must be newest or popular"))?,
    };
    let categories: Vec<DesignCategory> = match params.category.as_deref() {
        None => DesignCategory::ALL.to_vec(),
        Some(raw) => vec![DesignCategory::parse(raw).ok_or_else(|| {
            ApiError::bad_request("category must be dress, shirt, pants or accessories")
        })?],
    };
    let limit = params.limit.unwrap_or(20).clamp(1, 100);
    let mut refinement = QueryRefinement::default();
    let mut filters = Vec::new();
    if let Some(raw) = params.style.as_deref() {
        let style = DesignStyle::parse(raw).ok_or_else(|| {
            ApiError::bad_request("style must be casual, formal, sporty or vintage")
        })?;
        filters.push("#style = :style");
        refinement.names.push(("#style".into(), "style".into()));
        refinement.values.push((":style".into(), s(style.as_str())));
    }
    if let Some(tag) = params
        .tag
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        filters.push("contains(tags, :tag)");
        refinement
            .values
            .push((":tag".into(), s(tag.to_lowercase())));
    }
    refinement.filter = (!filters.is_empty()).then(|| filters.join(" AND "));
    let mut positions: Positions = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => decode_positions(raw, &categories)?,
        None => categories
            .iter()
            .map(|c| (c.as_str().to_owned(), Some(String::new())))
            .collect(),
    };
    let index = match sort {
        GallerySort::Newest => Index::Gsi2,
        GallerySort::Popular => Index::Gsi3,
    };
    let pages = partition_pages(
        &state.store,
        &categories,
        &positions,
        index,
        &refinement,
        limit,
    )
    .await?;
    // Merge: the best `limit` of all partitions' pages. Each page is in
    // order, so what a partition gives the merged page is a prefix of it.
    let mut merged: Vec<(String, DesignRecord)> = Vec::new();
    let mut fetched: HashMap<String, (usize, Option<String>)> = HashMap::new();
    for (category, page) in pages {
        fetched.insert(category.clone(), (page.items.len(), page.next_cursor));
        merged.extend(page.items.into_iter().map(|r| (category.clone(), r)));
    }
    merged.sort_by(|a, b| sort_key(&b.1, sort).cmp(sort_key(&a.1, sort)));
    merged.truncate(limit as usize);
    for (category, (count, next_cursor)) in fetched {
        let taken: Vec<&DesignRecord> = merged
            .iter()
            .filter(|(c, _)| *c == category)
            .map(|(_, r)| r)
            .collect();
        let position = positions
            .get_mut(&category)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a partition without a position")))?;
        if taken.len() == count {
            *position = next_cursor;
        } else if let Some(last) = taken.last() {
            *position = Some(cursor_after(last, sort));
        }
        // None taken of a page with items: the partition stays where it was.
    }
    let next = encode_positions(&positions);
    let views = merged
        .into_iter()
        .map(|(_, r)| DesignView::from(r))
        .collect();
    Ok(ApiResponse::ok(views).paginated(next, limit))
}

async fn partition_pages(
    store: &Store,
    categories: &[DesignCategory],
    positions: &Positions,
    index: Index,
    refinement: &QueryRefinement,
    limit: u32,
) -> ApiResult<Vec<(String, shared::store::Page<DesignRecord>)>> {
    let mut pages = Vec::new();
    let queries = categories.iter().filter_map(|category| {
        let key = category.as_str().to_owned();
        let position = positions.get(&key).cloned().flatten()?;
        Some((key, *category, position))
    });
    let futures: Vec<_> = queries
        .map(|(key, category, position)| async move {
            let query = PartitionQuery {
                index,
                partition: gallery_partition(category),
                sort_prefix: None,
                ascending: false,
            };
            let cursor = (!position.is_empty()).then_some(position);
            let page = store
                .query_page_where::<DesignRecord>(&query, refinement, limit, cursor.as_deref())
                .await?;
            Ok::<_, ApiError>((key, page))
        })
        .collect();
    for result in futures::future::join_all(futures).await {
        pages.push(result?);
    }
    Ok(pages)
}

/// Counts one view of a ready design by `viewer` today, unless it already
/// counted: the marker's key is an HMAC of viewer, design and day, so the
/// table holds nothing that names the viewer, and it expires in two days.
/// True when this view counted.
pub async fn count_view(state: &StudioState, design_id: &str, viewer: &Viewer) -> ApiResult<bool> {
    let day = now_epoch().div_euclid(86_400);
    let who = match viewer.user.as_ref() {
        Some(user) => format!("user:{}", user.user_id),
        None => format!(
            "anon:{}:{}",
            viewer.client.ip_or_unknown(),
            viewer.client.user_agent.as_deref().unwrap_or_default()
        ),
    };
    let signing = state.signing.as_ref().ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "views are counted without the signing keys"
        ))
    })?;
    let token = signing.sign_link("studio-view", &format!("{who}|{design_id}|{day}"));
    let tag = token.rsplit('.').next().unwrap_or_default();
    let (pk, sk) = design_key(design_id);
    #[derive(Serialize)]
    struct ViewMarker<'a> {
        #[serde(rename = "PK")]
        pk: &'a str,
        #[serde(rename = "SK")]
        sk: String,
        #[serde(rename = "type")]
        item_type: &'a str,
        ttl: i64,
    }
    let marker = ViewMarker {
        pk: &pk,
        sk: format!("VIEW#{tag}"),
        item_type: VIEW_TYPE,
        ttl: (day + 2) * 86_400,
    };
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&marker, Some("attribute_not_exists(PK)"))?,
    )
    .named("view");
    let counter = Update::new(&pk, sk, "ADD #views :one")
        .condition("attribute_exists(PK)")
        .name("#views", "views")
        .value(":one", n(1));
    tx.push(state.store.transact_update(counter)?)
        .named("design");
    match state.store.transact(tx).await {
        Ok(()) => Ok(true),
        Err(err) if err.condition_failed("view") || err.condition_failed("design") => Ok(false),
        Err(err) => Err(ApiError::from(err).context("counting a view")),
    }
}

/// Likes or unlikes: `delta` is 1 or -1. Returns whether anything changed.
async fn change_like(
    store: &Store,
    record: &DesignRecord,
    user_id: &str,
    delta: i64,
) -> ApiResult<bool> {
    let (pk, sk) = design_key(&record.id);
    let marker_sk = format!("LIKE#{user_id}");
    let mut tx = Transaction::new();
    if delta > 0 {
        #[derive(Serialize)]
        struct LikeMarker<'a> {
            #[serde(rename = "PK")]
            pk: &'a str,
            #[serde(rename = "SK")]
            sk: &'a str,
            #[serde(rename = "type")]
            item_type: &'a str,
            at: String,
        }
        let marker = LikeMarker {
            pk: &pk,
            sk: &marker_sk,
            item_type: LIKE_TYPE,
            at: shared::domain::now_rfc3339(),
        };
        tx.push(store.transact_put(&marker, Some("attribute_not_exists(PK)"))?)
            .named("like");
    } else {
        tx.push(store.transact_delete(&pk, &marker_sk, Some("attribute_exists(PK)"), &[])?)
            .named("like");
    }
    let counter = Update::new(&pk, sk, "ADD likes :delta, likeEvents :one")
        .condition("attribute_exists(PK)")
        .value(":delta", n(delta))
        .value(":one", n(1));
    tx.push(store.transact_update(counter)?).named("design");
    match store.transact(tx).await {
        Ok(()) => Ok(true),
        Err(err) if err.condition_failed("like") => Ok(false),
        Err(err) if err.condition_failed("design") => Err(ApiError::not_found("no such design")),
        Err(err) => Err(ApiError::from(err).context("recording the like")),
    }
}

/// Sets the popular sort key from the like count as it is now, unless a
/// later change scored it already.
async fn rescore(store: &Store, design_id: &str) -> ApiResult<DesignRecord> {
    let (pk, sk) = design_key(design_id);
    let current = store
        .get::<DesignRecord>(&pk, sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no such design"))?;
    if current.gsi3pk.is_none() {
        return Ok(current);
    }
    let update = Update::new(&pk, sk, "SET GSI3SK = :score, scoredEvents = :events")
        .condition("attribute_exists(GSI3PK) AND (attribute_not_exists(scoredEvents) OR scoredEvents < :events)")
        .value(
            ":score",
            s(hot_sort_key(current.likes, current.created_epoch, &current.id)),
        )
        .value(":events", n(current.like_events));
    match store.apply_update(update).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(current),
        Err(err) => Err(ApiError::from(err).context("updating the design's hot score")),
    }
}

#[utoipa::path(
    put,
    path = "/v1/designs/{designId}/like",
    tag = "studio",
    security(("bearer" = [])),
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 200, description = "The design, liked by the caller (once, however often this is sent)", body = Envelope<DesignView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such design, or not public and ready", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn like_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
) -> ApiResult<ApiResponse<DesignView>> {
    like_or_unlike(&state, &principal, &design_id, 1).await
}

#[utoipa::path(
    delete,
    path = "/v1/designs/{designId}/like",
    tag = "studio",
    security(("bearer" = [])),
    params(("designId" = String, Path, description = "The design's id")),
    responses(
        (status = 200, description = "The design, not liked by the caller (harmless when it was not)", body = Envelope<DesignView>),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 404, description = "No such design, or not public and ready", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all, fields(design_id = %design_id))]
pub async fn unlike_design(
    State(state): State<StudioState>,
    principal: Principal,
    Path(design_id): Path<String>,
) -> ApiResult<ApiResponse<DesignView>> {
    like_or_unlike(&state, &principal, &design_id, -1).await
}

async fn like_or_unlike(
    state: &StudioState,
    principal: &Principal,
    design_id: &str,
    delta: i64,
) -> ApiResult<ApiResponse<DesignView>> {
    let record = visible(&state.store, design_id, Some(&principal.user_id)).await?;
    if record.status != crate::model::DesignStatus::Ready {
        return Err(ApiError::not_found("no such design"));
    }
    let current = if change_like(&state.store, &record, &principal.user_id, delta).await? {
        rescore(&state.store, design_id).await?
    } else {
        record
    };
    Ok(ApiResponse::ok(DesignView::from(current)))
}
