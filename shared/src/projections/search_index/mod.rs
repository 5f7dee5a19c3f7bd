//! The search index of products, kept in the same table by the stream
//! function; catalog's search and suggestions read it (`catalog::search`).
//!
//! Items (see docs/data-model.md, "Catalog"):
//! - `SEARCH#<term> / <productId>`: one per (term, product) of a listed
//!   product, from its name, description, tags and its category's name.
//!   `inName` marks terms of the name (they rank higher); `inCategory` marks
//!   terms found only in the category's name (they rank lowest). Terms of
//!   the name also carry GSI1 `SUGGEST#<first two letters> / <word>#<productId>`
//!   with the product's name, for autocomplete.
//!
//! The pure part, [`index_changes`] over [`text`]'s terms, decides which
//! term items a product change writes and removes; [`apply_product_change`]
//! applies them (the stream function calls it for every product record, so
//! it is idempotent: puts and deletes of whole items by key). Queries are
//! analysed by the same [`text`] functions, so they meet the indexed terms.

pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::contracts::category::{CategoryName, category_key};
use crate::contracts::product::ProductForIndex;
use crate::store::{Store, StoreError};
use text::{stem, tokenize, words};

pub const TERM_TYPE: &str = "SEARCH_TERM";
/// Suggestions are keyed by this many first letters of a name's word.
pub const SUGGEST_PREFIX_CHARS: usize = 2;

/// One term item: `SEARCH#<term> / <productId>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TermItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "type")]
    pub item_type: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
    pub term: String,
    pub product_id: String,
    pub in_name: bool,
    /// The term comes only from the category's name: the weakest match.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_category: bool,
    /// The product's name, on name terms (for suggestions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The key of a term item to delete.
pub type TermKey = (String, String);

pub fn term_partition(term: &str) -> String {
    format!("SEARCH#{term}")
}

/// Every term item a product should have: none unless it is listed. A
/// term's strongest source wins: name, then description and tags, then the
/// category's name (`category_name`, if the category exists).
pub fn term_items(product: &ProductForIndex, category_name: Option<&str>) -> Vec<TermItem> {
    if !product.is_listed() {
        return Vec::new();
    }
    let mut items: BTreeMap<String, TermItem> = BTreeMap::new();
    for word in words(&product.name) {
        let term = stem(&word);
        items.entry(term.clone()).or_insert_with(|| {
            let prefix: String = word.chars().take(SUGGEST_PREFIX_CHARS).collect();
            TermItem {
                pk: term_partition(&term),
                sk: product.id.clone(),
                item_type: TERM_TYPE.to_owned(),
                gsi1pk: Some(format!("SUGGEST#{prefix}")),
                gsi1sk: Some(format!("{word}#{}", product.id)),
                term,
                product_id: product.id.clone(),
                in_name: true,
                in_category: false,
                name: Some(product.name.clone()),
            }
        });
    }
    let other_text = format!("{} {}", product.description, product.tags.join(" "));
    let weaker = [
        (other_text.as_str(), false),
        (category_name.unwrap_or_default(), true),
    ];
    for (text, in_category) in weaker {
        for term in tokenize(text) {
            items.entry(term.clone()).or_insert_with(|| TermItem {
                pk: term_partition(&term),
                sk: product.id.clone(),
                item_type: TERM_TYPE.to_owned(),
                gsi1pk: None,
                gsi1sk: None,
                term,
                product_id: product.id.clone(),
                in_name: false,
                in_category,
                name: None,
            });
        }
    }
    items.into_values().collect()
}

/// What a product change does to the index: the term items to write (new
/// or changed) and the keys to delete (terms the product no longer has,
/// all of them once it is archived, inactive or gone). `category_names`
/// maps category ids to names, for the categories of listed products.
pub fn index_changes(
    old: Option<&ProductForIndex>,
    new: Option<&ProductForIndex>,
    category_names: &HashMap<String, String>,
) -> (Vec<TermItem>, Vec<TermKey>) {
    let terms =
        |p: &ProductForIndex| term_items(p, category_names.get(&p.category_id).map(String::as_str));
    let before = old.map(terms).unwrap_or_default();
    let after = new.map(terms).unwrap_or_default();
    let after_keys: BTreeSet<TermKey> =
        after.iter().map(|t| (t.pk.clone(), t.sk.clone())).collect();
    let deletes = before
        .iter()
        .map(|t| (t.pk.clone(), t.sk.clone()))
        .filter(|key| !after_keys.contains(key))
        .collect();
    let puts = after.into_iter().filter(|t| !before.contains(t)).collect();
    (puts, deletes)
}

/// Brings the index in line with a product change (old and new images of
/// the stream record). Idempotent: applying it twice has the effect of once.
/// Reads the category's name (one GetItem) only when an image is listed and
/// so has terms; an edit that keeps the category reads it once.
pub async fn apply_product_change(
    store: &Store,
    old: Option<ProductForIndex>,
    new: Option<ProductForIndex>,
) -> Result<(), StoreError> {
    let category_names = listed_category_names(store, [old.as_ref(), new.as_ref()]).await?;
    let (puts, deletes) = index_changes(old.as_ref(), new.as_ref(), &category_names);
    // Boxed, so the future stays Send for any caller that spawns it (the
    // devserver's pump): closures returning async blocks trip the
    // compiler's higher-ranked lifetime inference there.
    type Write<'a> =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'a>>;
    let mut writes: Vec<Write<'_>> = Vec::with_capacity(puts.len() + deletes.len());
    for item in puts {
        writes.push(Box::pin(async move { store.put(&item, None).await }));
    }
    for (pk, sk) in deletes {
        writes.push(Box::pin(async move { store.delete(&pk, &sk).await }));
    }
    let results: Vec<Result<(), StoreError>> = futures::stream::iter(writes)
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The names of the categories of the listed products among `images`;
/// a category that does not exist contributes no terms.
async fn listed_category_names(
    store: &Store,
    images: [Option<&ProductForIndex>; 2],
) -> Result<HashMap<String, String>, StoreError> {
    let ids: BTreeSet<&str> = images
        .into_iter()
        .flatten()
        .filter(|p| p.is_listed())
        .map(|p| p.category_id.as_str())
        .collect();
    let mut names = HashMap::new();
    for id in ids {
        let (pk, sk) = category_key(id);
        if let Some(category) = store.get::<CategoryName>(&pk, sk).await? {
            names.insert(category.id, category.name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(name: &str, description: &str) -> ProductForIndex {
        ProductForIndex {
            id: crate::domain::new_id(),
            name: name.into(),
            description: description.into(),
            tags: vec!["organic".into()],
            category_id: "c1".into(),
            active: true,
            archived_at: None,
        }
    }

    #[test]
    fn index_changes_write_new_terms_and_remove_old_ones() {
        let before = product("Roma tomatoes", "Sweet and firm");
        let (puts, deletes) = index_changes(None, Some(&before), &HashMap::new());
        let terms: BTreeSet<&str> = puts.iter().map(|t| t.term.as_str()).collect();
        assert_eq!(
            terms,
            BTreeSet::from(["roma", "tomato", "sweet", "firm", "organic"])
        );
        assert!(deletes.is_empty());
        assert!(puts.iter().find(|t| t.term == "tomato").unwrap().in_name);
        assert!(!puts.iter().find(|t| t.term == "sweet").unwrap().in_name);

        let mut renamed = before.clone();
        renamed.name = "Cherry tomatoes".into();
        let (puts, deletes) = index_changes(Some(&before), Some(&renamed), &HashMap::new());
        assert_eq!(deletes, vec![(term_partition("roma"), before.id.clone())]);
        let put_terms: Vec<&str> = puts.iter().map(|t| t.term.as_str()).collect();
        assert!(put_terms.contains(&"cherry"), "{put_terms:?}");
        assert!(
            !put_terms.contains(&"sweet"),
            "unchanged items are not rewritten"
        );

        let mut archived = renamed.clone();
        archived.archived_at = Some("2026-01-01T00:00:00Z".into());
        let (puts, deletes) = index_changes(Some(&renamed), Some(&archived), &HashMap::new());
        assert!(puts.is_empty());
        assert_eq!(deletes.len(), 5);
        let (puts, deletes) = index_changes(Some(&renamed), None, &HashMap::new());
        assert!(puts.is_empty() && deletes.len() == 5);
    }

    #[test]
    fn category_name_terms_are_indexed_with_the_lowest_weight() {
        let tomato = product("Roma tomatoes", "Sweet vegetables");
        let names = HashMap::from([("c1".to_owned(), "Fresh Vegetables & Herbs".to_owned())]);
        let (puts, _) = index_changes(None, Some(&tomato), &names);
        let term = |t: &str| puts.iter().find(|p| p.term == t).cloned();
        let fresh = term("fresh").expect("a word only in the category name");
        assert!(fresh.in_category && !fresh.in_name && fresh.name.is_none());
        assert!(term("herb").unwrap().in_category);
        // A word also in the description keeps the description's weight.
        assert!(!term("vegetable").unwrap().in_category);
        assert!(term("tomato").unwrap().in_name);

        // Without the category (deleted, or none yet), no category terms;
        // moving to another category swaps them.
        let (puts, _) = index_changes(None, Some(&tomato), &HashMap::new());
        assert!(puts.iter().all(|p| !p.in_category));
        let mut moved = tomato.clone();
        moved.category_id = "c2".into();
        let names = HashMap::from([
            ("c1".to_owned(), "Fresh Herbs".to_owned()),
            ("c2".to_owned(), "Pantry".to_owned()),
        ]);
        let (puts, deletes) = index_changes(Some(&tomato), Some(&moved), &names);
        let put_terms: Vec<&str> = puts.iter().map(|t| t.term.as_str()).collect();
        assert_eq!(put_terms, vec!["pantry"]);
        assert_eq!(
            BTreeSet::from_iter(deletes),
            BTreeSet::from([
                (term_partition("fresh"), tomato.id.clone()),
                (term_partition("herb"), tomato.id.clone()),
            ])
        );
    }
}
