//! Categories: a tree of named, slugged groups products belong to.
//!
//! Items (see docs/data-model.md, "Catalog"):
//! - `CATEGORY#<id> / CATEGORY`, GSI1 `CATEGORIES / <slug>`: the category.
//!   All categories share one GSI1 partition: the tree is small and read
//!   whole, in one Query, to answer any category read.
//! - `CATEGORY_SLUG#<slug> / MARKER`: the slug's uniqueness marker, written in
//!   the same transaction as the category.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Deserializer, Serialize};
use shared::auth::Principal;
use shared::domain::{new_id, now_rfc3339};
use shared::http::Problems;
use shared::http::precondition::{etag, if_match};
use shared::http::{ApiError, ApiJson, ApiResponse, ApiResult, Envelope, ErrorEnvelope};
use shared::store::{Index, PartitionQuery, Store, Transaction};
use utoipa::ToSchema;

use crate::CatalogState;
use crate::access::require_admin;
use crate::slug::Slug;

pub const CATEGORY_TYPE: &str = "CATEGORY";
pub const SLUG_MARKER_TYPE: &str = "CATEGORY_SLUG";
const MARKER_SK: &str = "MARKER";
const CATEGORIES_PARTITION: &str = "CATEGORIES";
/// Reading the tree stops after this many pages (1 MB each): far beyond any
/// real category tree, and a bound on what one request can cost.
const MAX_TREE_PAGES: usize = 10;
const MAX_NAME_CHARS: usize = 100;
const MAX_DESCRIPTION_CHARS: usize = 2000;

pub use shared::contracts::category::category_key;

fn slug_key(slug: &str) -> (String, &'static str) {
    (format!("CATEGORY_SLUG#{slug}"), MARKER_SK)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryRecord {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    pub id: String,
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl CategoryRecord {
    fn new(
        id: String,
        slug: &Slug,
        name: String,
        description: String,
        parent_id: Option<String>,
    ) -> Self {
        let (pk, sk) = category_key(&id);
        let now = now_rfc3339();
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: CATEGORY_TYPE.to_owned(),
            gsi1pk: CATEGORIES_PARTITION.to_owned(),
            gsi1sk: slug.to_string(),
            id,
            slug: slug.to_string(),
            name,
            description,
            parent_id,
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlugMarker {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "type")]
    item_type: String,
    category_id: String,
}

impl SlugMarker {
    fn new(slug: &str, category_id: &str) -> Self {
        let (pk, sk) = slug_key(slug);
        Self {
            pk,
            sk: sk.to_owned(),
            item_type: SLUG_MARKER_TYPE.to_owned(),
            category_id: category_id.to_owned(),
        }
    }
}

/// A category with its sub-categories.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryView {
    #[schema(example = "01JD8X3Q4Z5Y6W7V8T9S0R1P2N")]
    pub id: String,
    #[schema(example = "fresh-vegetables")]
    pub slug: String,
    #[schema(example = "Fresh vegetables")]
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[schema(no_recursion)]
    pub children: Vec<CategoryView>,
    pub created_at: String,
    pub updated_at: String,
}

/// Every category, in slug order: one Query of GSI1 `CATEGORIES` (more pages
/// only past 1 MB of categories).
pub(crate) async fn all_categories(store: &Store) -> ApiResult<Vec<CategoryRecord>> {
    let query = PartitionQuery {
        index: Index::Gsi1,
        partition: CATEGORIES_PARTITION.to_owned(),
        sort_prefix: None,
        ascending: true,
    };
    let mut all = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_TREE_PAGES {
        let page = store
            .query_page::<CategoryRecord>(&query, 1000, cursor.as_deref())
            .await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(all),
        }
    }
    Err(ApiError::internal(anyhow::anyhow!(
        "the category tree is larger than {MAX_TREE_PAGES} pages"
    )))
}

/// The view of `record` with its descendants among `all`.
fn subtree(
    record: &CategoryRecord,
    children_of: &BTreeMap<&str, Vec<&CategoryRecord>>,
    depth: usize,
) -> CategoryView {
    let children = if depth > 32 {
        Vec::new()
    } else {
        children_of
            .get(record.id.as_str())
            .into_iter()
            .flatten()
            .map(|child| subtree(child, children_of, depth + 1))
            .collect()
    };
    CategoryView {
        id: record.id.clone(),
        slug: record.slug.clone(),
        name: record.name.clone(),
        description: record.description.clone(),
        parent_id: record.parent_id.clone(),
        children,
        created_at: record.created_at.clone(),
        updated_at: record.updated_at.clone(),
    }
}

fn children_index(all: &[CategoryRecord]) -> BTreeMap<&str, Vec<&CategoryRecord>> {
    let mut children_of: BTreeMap<&str, Vec<&CategoryRecord>> = BTreeMap::new();
    for record in all {
        if let Some(parent) = &record.parent_id {
            children_of.entry(parent.as_str()).or_default().push(record);
        }
    }
    children_of
}

/// The whole category tree: root categories with their sub-categories.
#[utoipa::path(
    get,
    path = "/v1/categories",
    tag = "catalog",
    responses(
        (status = 200, description = "Root categories, each with its children, in slug order", body = Envelope<Vec<CategoryView>>),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn list_categories(
    State(state): State<CatalogState>,
) -> ApiResult<ApiResponse<Vec<CategoryView>>> {
    let all = all_categories(&state.store).await?;
    let children_of = children_index(&all);
    let known: std::collections::BTreeSet<&str> = all.iter().map(|c| c.id.as_str()).collect();
    let roots = all
        .iter()
        .filter(|c| c.parent_id.as_deref().is_none_or(|p| !known.contains(p)))
        .map(|root| subtree(root, &children_of, 0))
        .collect();
    Ok(ApiResponse::ok(roots))
}

/// One category by slug, with its sub-categories.
#[utoipa::path(
    get,
    path = "/v1/categories/{slug}",
    tag = "catalog",
    params(("slug" = String, Path, description = "The category's slug")),
    responses(
        (status = 200, description = "The category; the ETag header is its version", body = Envelope<CategoryView>),
        (status = 404, description = "No category has this slug", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn get_category(
    State(state): State<CatalogState>,
    Path(slug): Path<String>,
) -> ApiResult<ApiResponse<CategoryView>> {
    let all = all_categories(&state.store).await?;
    let record = all
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| ApiError::not_found("no category has this slug"))?;
    let view = subtree(record, &children_index(&all), 0);
    Ok(ApiResponse::ok(view).header(header::ETAG, etag(record.version)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCategoryRequest {
    #[schema(example = "fresh-vegetables")]
    slug: String,
    #[schema(example = "Fresh vegetables")]
    name: String,
    #[serde(default)]
    description: Option<String>,
    /// The parent category's id; absent for a root category.
    #[serde(default)]
    parent_id: Option<String>,
}

struct NewCategory {
    slug: Slug,
    name: String,
    description: String,
    parent_id: Option<String>,
}

impl TryFrom<NewCategoryRequest> for NewCategory {
    type Error = ApiError;

    fn try_from(request: NewCategoryRequest) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let slug = problems.parsed("slug", Slug::parse(&request.slug));
        let name = problems.text("name", &request.name, 1, MAX_NAME_CHARS);
        let description = problems.text(
            "description",
            request.description.as_deref().unwrap_or(""),
            0,
            MAX_DESCRIPTION_CHARS,
        );
        let parent_id = request.parent_id.map(|p| p.trim().to_owned());
        if parent_id.as_deref().is_some_and(str::is_empty) {
            problems.add("parentId", "must be a category id");
        }
        match slug {
            Some(slug) => problems.finish("the category has invalid fields", || Self {
                slug,
                name,
                description,
                parent_id,
            }),
            None => Err(ApiError::validation(
                "the category has invalid fields",
                problems.fields().clone(),
            )),
        }
    }
}

/// Guards that a parent category exists when the transaction commits.
fn parent_exists(store: &Store, parent_id: &str) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = category_key(parent_id);
    Ok(store.transact_require_exists(&pk, sk)?)
}

/// Creates a category (admins only). The slug must be free.
#[utoipa::path(
    post,
    path = "/v1/categories",
    tag = "catalog",
    security(("bearer" = [])),
    request_body = NewCategoryRequest,
    responses(
        (status = 201, description = "The category was created", body = Envelope<CategoryView>),
        (status = 403, description = "The caller is not a platform admin", body = ErrorEnvelope),
        (status = 409, description = "The slug is taken", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid or the parent does not exist; see error.fields", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn create_category(
    State(state): State<CatalogState>,
    principal: Principal,
    ApiJson(request): ApiJson<NewCategoryRequest>,
) -> ApiResult<ApiResponse<CategoryView>> {
    require_admin(&principal)?;
    let new = NewCategory::try_from(request)?;
    let record = CategoryRecord::new(
        new_id(),
        &new.slug,
        new.name,
        new.description,
        new.parent_id,
    );
    let marker = SlugMarker::new(&record.slug, &record.id);
    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put(&record, Some("attribute_not_exists(PK)"))?,
    );
    tx.push(
        state
            .store
            .transact_put(&marker, Some("attribute_not_exists(PK)"))?,
    )
    .named("slug");
    if let Some(parent) = &record.parent_id {
        tx.push(parent_exists(&state.store, parent)?)
            .named("parent");
    }
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("slug") => {
            return Err(ApiError::conflict_on(
                "slug",
                "another category has this slug",
            ));
        }
        Err(err) if err.condition_failed("parent") => {
            return Err(ApiError::invalid_field("parentId", "no such category"));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(category_id = %record.id, slug = %record.slug, "category created");
    let view = subtree(&record, &BTreeMap::new(), 0);
    Ok(ApiResponse::created(view).header(header::ETAG, etag(record.version)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCategoryRequest {
    slug: Option<String>,
    name: Option<String>,
    description: Option<String>,
    /// Another category's id, or `null` to make this a root category.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    parent_id: Option<Option<String>>,
}

/// Tells a missing field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

struct CategoryChange {
    slug: Option<Slug>,
    name: Option<String>,
    description: Option<String>,
    parent_id: Option<Option<String>>,
}

impl TryFrom<UpdateCategoryRequest> for CategoryChange {
    type Error = ApiError;

    fn try_from(request: UpdateCategoryRequest) -> Result<Self, ApiError> {
        let mut problems = Problems::default();
        let slug = request
            .slug
            .map(|s| problems.parsed("slug", Slug::parse(&s)));
        let name = request
            .name
            .map(|n| problems.text("name", &n, 1, MAX_NAME_CHARS));
        let description = request
            .description
            .map(|d| problems.text("description", &d, 0, MAX_DESCRIPTION_CHARS));
        let parent_id = request.parent_id.map(|p| p.map(|p| p.trim().to_owned()));
        if let Some(Some(parent)) = &parent_id
            && parent.is_empty()
        {
            problems.add("parentId", "must be a category id or null");
        }
        problems.finish("the category has invalid fields", || Self {
            slug: slug.flatten(),
            name,
            description,
            parent_id,
        })
    }
}

/// True if making `parent_id` the parent of `id` would close a loop.
fn creates_cycle(all: &[CategoryRecord], id: &str, parent_id: &str) -> bool {
    let parents: BTreeMap<&str, Option<&str>> = all
        .iter()
        .map(|c| (c.id.as_str(), c.parent_id.as_deref()))
        .collect();
    let mut current = Some(parent_id);
    for _ in 0..=all.len() {
        match current {
            None => return false,
            Some(ancestor) if ancestor == id => return true,
            Some(ancestor) => current = parents.get(ancestor).copied().flatten(),
        }
    }
    true
}

/// Renames, re-slugs, describes or moves a category (admins only). With
/// `If-Match`, only if it is still at that version (else 412).
#[utoipa::path(
    patch,
    path = "/v1/categories/{slug}",
    tag = "catalog",
    security(("bearer" = [])),
    request_body = UpdateCategoryRequest,
    params(
        ("slug" = String, Path, description = "The category's current slug"),
        ("If-Match" = Option<String>, Header, description = "The ETag from GET /v1/categories/{slug}", pattern = r#"^(\*|"[0-9]{1,19}")$"#),
    ),
    responses(
        (status = 200, description = "The updated category, with its new ETag", body = Envelope<CategoryView>),
        (status = 400, description = "Invalid JSON or If-Match", body = ErrorEnvelope),
        (status = 403, description = "The caller is not a platform admin", body = ErrorEnvelope),
        (status = 404, description = "No category has this slug", body = ErrorEnvelope),
        (status = 409, description = "The new slug is taken, or the category changed meanwhile", body = ErrorEnvelope),
        (status = 412, description = "The category changed since that ETag", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid, the parent does not exist or would make a loop", body = ErrorEnvelope),
    ),
)]
#[tracing::instrument(skip_all)]
pub async fn update_category(
    State(state): State<CatalogState>,
    principal: Principal,
    Path(slug): Path<String>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<UpdateCategoryRequest>,
) -> ApiResult<ApiResponse<CategoryView>> {
    require_admin(&principal)?;
    let change = CategoryChange::try_from(request)?;
    let expected_version = if_match(&headers)?;
    let all = all_categories(&state.store).await?;
    let listed = all
        .iter()
        .find(|c| c.slug == slug)
        .ok_or_else(|| ApiError::not_found("no category has this slug"))?;
    // The index is eventually consistent: decide on a consistent read.
    let (pk, sk) = category_key(&listed.id);
    let current: CategoryRecord = state
        .store
        .get(&pk, sk)
        .await?
        .ok_or_else(|| ApiError::not_found("no category has this slug"))?;
    if expected_version.is_some_and(|v| v != current.version) {
        return Err(ApiError::precondition_failed(
            "the category changed since that ETag; fetch it again",
        ));
    }
    let mut next = current.clone();
    if let Some(name) = change.name {
        next.name = name;
    }
    if let Some(description) = change.description {
        next.description = description;
    }
    if let Some(parent_id) = change.parent_id {
        if let Some(parent) = &parent_id
            && (parent == &current.id || creates_cycle(&all, &current.id, parent))
        {
            return Err(ApiError::invalid_field(
                "parentId",
                "a category cannot be placed under itself or its descendants",
            ));
        }
        next.parent_id = parent_id;
    }
    if let Some(new_slug) = &change.slug {
        next.slug = new_slug.to_string();
        next.gsi1sk = new_slug.to_string();
    }
    next.version = current.version + 1;
    next.updated_at = now_rfc3339();

    let mut tx = Transaction::new();
    tx.push(
        state
            .store
            .transact_put_if_version(&next, current.version)?,
    )
    .named("category");
    if next.slug != current.slug {
        let (old_pk, old_sk) = slug_key(&current.slug);
        tx.push(state.store.transact_delete(
            &old_pk,
            old_sk,
            Some("categoryId = :id"),
            &[(":id", AttributeValue::S(current.id.clone()))],
        )?);
        tx.push(state.store.transact_put(
            &SlugMarker::new(&next.slug, &next.id),
            Some("attribute_not_exists(PK)"),
        )?)
        .named("slug");
    }
    if let Some(parent) = next
        .parent_id
        .as_deref()
        .filter(|p| Some(*p) != current.parent_id.as_deref())
    {
        tx.push(parent_exists(&state.store, parent)?)
            .named("parent");
    }
    match state.store.transact(tx).await {
        Ok(()) => {}
        Err(err) if err.condition_failed("slug") => {
            return Err(ApiError::conflict_on(
                "slug",
                "another category has this slug",
            ));
        }
        Err(err) if err.condition_failed("parent") => {
            return Err(ApiError::invalid_field("parentId", "no such category"));
        }
        Err(err) if err.condition_failed("category") => {
            return Err(match expected_version {
                Some(_) => ApiError::precondition_failed(
                    "the category changed since that ETag; fetch it again",
                ),
                None => ApiError::conflict("the category changed meanwhile; try again"),
            });
        }
        Err(err) => return Err(err.into()),
    }
    let mut children_source = all.clone();
    children_source.retain(|c| c.id != next.id);
    let view = subtree(&next, &children_index(&children_source), 0);
    Ok(ApiResponse::ok(view).header(header::ETAG, etag(next.version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, parent: Option<&str>) -> CategoryRecord {
        CategoryRecord::new(
            id.to_owned(),
            &Slug::parse(&id.to_lowercase()).unwrap(),
            id.to_owned(),
            String::new(),
            parent.map(str::to_owned),
        )
    }

    #[test]
    fn a_category_cannot_move_under_its_descendant() {
        let all = vec![
            record("a", None),
            record("b", Some("a")),
            record("c", Some("b")),
        ];
        assert!(creates_cycle(&all, "a", "c"));
        assert!(creates_cycle(&all, "a", "a"));
        assert!(!creates_cycle(&all, "c", "a"));
        assert!(!creates_cycle(&all, "b", "a"));
    }

    #[test]
    fn the_tree_nests_children_under_parents() {
        let all = vec![
            record("a", None),
            record("b", Some("a")),
            record("c", Some("b")),
        ];
        let view = subtree(&all[0], &children_index(&all), 0);
        assert_eq!(view.children.len(), 1);
        assert_eq!(view.children[0].children[0].id, "c");
    }
}
