//! The studio's figures: how long the offline generator takes to draw and
//! encode one 1800x2400 design (with its thumbnail), and a gallery page
//! through the router (merged over the four category partitions, and one
//! partition by popularity) beside a bare Query of one partition.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use axum::Router;
use axum::http::{Method, StatusCode};
use studio::generator::{DesignInputs, draw};
use studio::model::{
    DESIGN_TYPE, DesignCategory, DesignRecord, DesignStatus, DesignStyle, design_key,
    gallery_partition, hot_sort_key, owner_partition,
};

use super::{Figures, Meter, Plan, expect, measure, record};

/// Public ready designs written straight to the table (drawing each would
/// measure the generator, not the gallery).
async fn seed_gallery(services: &shared::FullServices, count: usize) -> anyhow::Result<()> {
    let now = shared::domain::now_epoch();
    for i in 0..count {
        let id = ulid::Ulid::new().to_string();
        let category = DesignCategory::ALL[i % DesignCategory::ALL.len()];
        let likes = (i * 7 % 50) as i64;
        let (pk, sk) = design_key(&id);
        let created = now - (count - i) as i64 * 60;
        let record = DesignRecord {
            pk,
            sk: sk.to_owned(),
            item_type: DESIGN_TYPE.to_owned(),
            gsi1pk: owner_partition("bench"),
            gsi1sk: format!("DESIGN#{id}"),
            gsi2pk: Some(gallery_partition(category)),
            gsi2sk: Some(id.clone()),
            gsi3pk: Some(gallery_partition(category)),
            gsi3sk: Some(hot_sort_key(likes, created, &id)),
            id: id.clone(),
            owner_id: "bench".into(),
            title: format!("Bench design {i}"),
            description: None,
            prompt: "waves".into(),
            category,
            style: DesignStyle::ALL[i % DesignStyle::ALL.len()],
            colors: vec!["#1144aa".into()],
            tags: vec!["bench".into()],
            is_public: true,
            status: DesignStatus::Ready,
            status_reason: None,
            image: None,
            generation: None,
            palette_score: Some(0.8),
            dominant_colors: Vec::new(),
            provider_job: None,
            slot: 0,
            likes,
            views: 0,
            like_events: likes,
            created_epoch: created,
            created_at: shared::domain::epoch_to_rfc3339(created),
            updated_at: shared::domain::epoch_to_rfc3339(created),
            version: 2,
            held_at: None,
        };
        services.store.put(&record, None).await?;
    }
    Ok(())
}

pub async fn run(
    app: &Router,
    services: &shared::FullServices,
    meter: &Meter,
    plan: Plan,
    figures: &mut Vec<Figures>,
) -> anyhow::Result<()> {
    // Generation: a new prompt each time, so nothing is reused.
    let runs = plan.runs.clamp(1, 10);
    let mut millis = Vec::with_capacity(runs);
    let mut bytes = 0;
    for i in 0..runs {
        let inputs = DesignInputs {
            prompt: format!("bench design number {i}"),
            category: DesignCategory::ALL[i % 4],
            style: DesignStyle::ALL[i % 4],
            colors: vec!["#cc2233".into(), "#1144aa".into(), "#f2d024".into()],
        };
        let started = Instant::now();
        let drawing = draw(&inputs);
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
        bytes += drawing.png.len();
    }
    millis.sort_by(f64::total_cmp);
    println!(
        "\noffline generation (1800x2400 PNG + 300x400 thumbnail, one core): median {:.0} ms, \
         slowest {:.0} ms over {runs} designs, {:.0} KB a PNG",
        millis[millis.len() / 2],
        millis[millis.len() - 1],
        bytes as f64 / runs as f64 / 1024.0,
    );

    seed_gallery(services, plan.products).await?;
    let (client, table) = (
        services.store.client().clone(),
        services.store.table().to_owned(),
    );
    record(
        figures,
        measure("bare Query (gallery partition, 20)", meter, plan, || {
            let (client, table) = (client.clone(), table.clone());
            async move {
                client
                    .query()
                    .table_name(table)
                    .index_name("GSI2")
                    .key_condition_expression("GSI2PK = :pk")
                    .expression_attribute_values(
                        ":pk",
                        AttributeValue::S(gallery_partition(DesignCategory::Dress)),
                    )
                    .scan_index_forward(false)
                    .limit(20)
                    .return_consumed_capacity(
                        aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total,
                    )
                    .send()
                    .await?;
                Ok(())
            }
        })
        .await?,
    );
    for (name, path) in [
        ("GET /v1/gallery (newest, 4 merged)", "/v1/gallery?limit=20"),
        (
            "GET /v1/gallery (popular, 1 category)",
            "/v1/gallery?sort=popular&category=dress&limit=20",
        ),
    ] {
        record(
            figures,
            measure(name, meter, plan, || async move {
                expect(app, Method::GET, path, None, None, StatusCode::OK).await?;
                Ok(())
            })
            .await?
            .via(Method::GET, path),
        );
    }
    Ok(())
}
