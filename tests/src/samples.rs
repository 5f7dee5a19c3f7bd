//! The sample Lambda events under events/.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::repo_root;

/// Every sample event under events/, by path relative to it.
pub fn sample_events() -> BTreeMap<String, Value> {
    fn walk(dir: PathBuf, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("events/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    let root = repo_root().join("events");
    let mut files = Vec::new();
    walk(root.clone(), &mut files);
    files
        .into_iter()
        .map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let json =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            (name, json)
        })
        .collect()
}
