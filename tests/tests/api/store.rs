//! The single-table layer against DynamoDB Local: pages, cursors, conditions.

use bodega_tests::spawn_app;
use serde::{Deserialize, Serialize};
use shared::store::{Index, PartitionQuery, QueryError, StoreError, Transaction};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Note {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1sk: String,
    text: String,
}

fn note(owner: &str, n: u32) -> Note {
    Note {
        pk: format!("OWNER#{owner}"),
        sk: format!("NOTE#{n:04}"),
        gsi1pk: format!("TAG#{owner}"),
        gsi1sk: format!("{n:04}"),
        text: format!("note {n}"),
    }
}

#[tokio::test]
async fn pages_through_a_partition_newest_first_and_refuses_foreign_cursors() {
    let app = spawn_app().await;
    let store = &app.services.store;
    for n in 0..7 {
        store.put(&note("a", n), None).await.unwrap();
        store.put(&note("b", n), None).await.unwrap();
    }
    let query = PartitionQuery {
        index: Index::Table,
        partition: "OWNER#a".into(),
        sort_prefix: Some("NOTE#".into()),
        ascending: false,
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .query_page::<Note>(&query, 3, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|n| n.sk));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|n| format!("NOTE#{n:04}")).collect();
    assert_eq!(seen, expected);

    // A cursor from owner b's list cannot be used to read on in owner a's.
    let b_query = PartitionQuery {
        partition: "OWNER#b".into(),
        ..query.clone()
    };
    let b_cursor = store
        .query_page::<Note>(&b_query, 2, None)
        .await
        .unwrap()
        .next_cursor
        .unwrap();
    let refused = store.query_page::<Note>(&query, 2, Some(&b_cursor)).await;
    assert!(
        matches!(refused, Err(QueryError::InvalidCursor(_))),
        "{refused:?}"
    );

    // A table cursor is not an index cursor.
    let gsi_query = PartitionQuery {
        index: Index::Gsi1,
        partition: "TAG#a".into(),
        sort_prefix: None,
        ascending: true,
    };
    let table_cursor = store
        .query_page::<Note>(&query, 2, None)
        .await
        .unwrap()
        .next_cursor
        .unwrap();
    assert!(matches!(
        store
            .query_page::<Note>(&gsi_query, 2, Some(&table_cursor))
            .await,
        Err(QueryError::InvalidCursor(_))
    ));
}

#[tokio::test]
async fn conditional_writes_report_which_condition_failed() {
    let app = spawn_app().await;
    let store = &app.services.store;
    store
        .put(&note("a", 1), Some("attribute_not_exists(PK)"))
        .await
        .unwrap();
    let again = store
        .put(&note("a", 1), Some("attribute_not_exists(PK)"))
        .await;
    assert!(
        matches!(again, Err(StoreError::ConditionFailed)),
        "{again:?}"
    );

    let mut tx = Transaction::new();
    tx.push(
        store
            .transact_put(&note("a", 2), Some("attribute_not_exists(PK)"))
            .unwrap(),
    )
    .named("new note");
    tx.push(
        store
            .transact_put(&note("a", 1), Some("attribute_not_exists(PK)"))
            .unwrap(),
    )
    .named("existing note");
    let err = store.transact(tx).await.unwrap_err();
    assert!(
        err.condition_failed("existing note") && !err.condition_failed("new note"),
        "{err:?}"
    );
    assert_eq!(
        err.failed_conditions().collect::<Vec<_>>(),
        ["existing note"]
    );
    // All or nothing: the first item was not written either.
    assert!(
        store
            .get::<Note>("OWNER#a", "NOTE#0002")
            .await
            .unwrap()
            .is_none()
    );
}
