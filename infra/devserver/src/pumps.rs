//! Event-source pumps: the devserver's stand-in for Lambda's event-source
//! mappings. A pump reads an event source (the table's DynamoDB stream, new
//! objects under `uploads/`) and hands batches to the same handler the
//! Lambda runtime calls, so triggers work locally as they do in AWS.
//!
//! No context has a trigger yet; the `stream` and `assets` functions register
//! theirs in [`spawn_all`] when they arrive.

use tokio::task::JoinHandle;

/// A running pump. Dropping the handle does not stop it; `abort` does.
pub struct Pump {
    pub name: &'static str,
    pub task: JoinHandle<()>,
}

/// Starts every pump the devserver knows. Each runs until the process ends.
pub fn spawn_all(_services: &shared::Services) -> Vec<Pump> {
    Vec::new()
}
