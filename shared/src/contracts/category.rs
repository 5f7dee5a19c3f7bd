//! Catalog's category as the search index reads it: `CATEGORY#<id> /
//! CATEGORY`, for its name (the weakest search terms of its products).
//! Owned by catalog, which builds its keys with [`category_key`].

use serde::Deserialize;

const CATEGORY_SK: &str = "CATEGORY";

/// The key of a category's item.
pub fn category_key(id: &str) -> (String, &'static str) {
    (format!("CATEGORY#{id}"), CATEGORY_SK)
}

/// A category's id and name.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CategoryName {
    pub id: String,
    pub name: String,
}
