//! The studio: designs drawn in the background, limits and prompt safety,
//! the gallery, likes and views.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use bodega_tests::{TestApp, design_body, spawn_app, unique_email};
use futures::future::join_all;
use serde_json::{Value, json};
use shared::store::Value as Attr;

/// Generation must finish within this, however slow the machine.
const GENERATION_BUDGET: Duration = Duration::from_secs(60);

async fn fetch(url: &str) -> Vec<u8> {
    let response = reqwest::get(url).await.expect("the image URL answers");
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.expect("the image's bytes").to_vec()
}

fn id_of(design: &Value) -> String {
    design["id"].as_str().expect("a design id").to_owned()
}

async fn drain_within_budget(app: &TestApp) -> usize {
    tokio::time::timeout(GENERATION_BUDGET, app.drain_generations())
        .await
        .expect("generation finishes within the budget")
}

#[tokio::test]
async fn a_design_is_drawn_in_the_background_at_print_size_and_reproducibly() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("designer")).await;

    let created = app.create_design(&owner, &design_body("Poppies")).await;
    let accepted = created.assert_ok(StatusCode::ACCEPTED);
    assert_eq!(accepted["status"], "generating");
    assert!(accepted.get("image").is_none(), "{accepted}");
    assert_eq!(created.headers["etag"], "\"1\"");
    let id = id_of(accepted);

    assert_eq!(drain_within_budget(&app).await, 1);
    let design = app.get_design(Some(&owner), &id).await;
    let design = design.assert_ok(StatusCode::OK);
    assert_eq!(design["status"], "ready", "{design}");
    assert_eq!(design["generation"]["provider"], "procedural");
    assert_eq!(design["generation"]["parameters"]["pattern"], "dots");
    assert_eq!(design["generation"]["parameters"]["silhouette"], "dress");
    assert_eq!(design["generation"]["seed"].as_str().unwrap().len(), 16);
    let score = design["paletteScore"].as_f64().expect("a palette score");
    assert!((0.3..1.0).contains(&score), "{score}");
    assert!(!design["dominantColors"].as_array().unwrap().is_empty());

    let png = fetch(design["image"]["url"].as_str().unwrap()).await;
    let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png).unwrap();
    assert_eq!((image.width(), image.height()), (1800, 2400));
    assert_eq!(design["image"]["width"], 1800);
    let thumb = fetch(design["image"]["thumbnailUrl"].as_str().unwrap()).await;
    let thumb = image::load_from_memory_with_format(&thumb, image::ImageFormat::Png).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (300, 400));

    // The same inputs (title aside) give the same bytes.
    let again = app
        .ready_design(&owner, &design_body("Poppies again"))
        .await;
    assert_ne!(again["id"], design["id"]);
    assert_eq!(again["generation"]["seed"], design["generation"]["seed"]);
    assert_eq!(again["image"]["sha256"], design["image"]["sha256"]);
    assert_eq!(fetch(again["image"]["url"].as_str().unwrap()).await, png);
    // Another style is another drawing.
    let mut body = design_body("Stripes");
    body["style"] = json!("formal");
    let other = app.ready_design(&owner, &body).await;
    assert_ne!(other["image"]["sha256"], design["image"]["sha256"]);

    // The worker is idempotent: the same message again changes nothing.
    let state = app.studio_state();
    studio::worker::generate(&state, &id).await.unwrap();
    let still = app.get_design(Some(&owner), &id).await;
    assert_eq!(
        still.assert_ok(StatusCode::OK)["version"],
        design["version"]
    );

    let mine = app.my_designs(&owner, "?limit=2").await;
    let page = mine.assert_ok(StatusCode::OK).as_array().unwrap().clone();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["id"], other["id"], "newest first");
    let cursor = mine.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest = app
        .my_designs(&owner, &format!("?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest.assert_ok(StatusCode::OK)[0]["id"], design["id"]);
}

#[tokio::test]
async fn the_eleventh_design_in_an_hour_is_429_with_retry_after() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("prolific")).await;
    for i in 0..10 {
        app.create_design(&owner, &design_body(&format!("Design {i}")))
            .await
            .assert_ok(StatusCode::ACCEPTED);
    }
    let refused = app.create_design(&owner, &design_body("Eleventh")).await;
    refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    let count = app.my_designs(&owner, "?limit=100").await;
    assert_eq!(
        count.assert_ok(StatusCode::OK).as_array().unwrap().len(),
        10
    );

    // The window rolls: once the oldest slot's hour is over, one more fits.
    let user = app.user_id(&owner).await;
    let now = shared::domain::now_epoch();
    app.set_stored_attribute(
        &format!("STUDIO#USER#{user}#LIMITS"),
        "SLOT#0",
        "until",
        Attr::N((now - 1).to_string()),
    )
    .await;
    app.create_design(&owner, &design_body("Next hour"))
        .await
        .assert_ok(StatusCode::ACCEPTED);
    app.create_design(&owner, &design_body("Too many again"))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
}

#[tokio::test]
async fn a_failed_design_gives_its_slot_back() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("unlucky")).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let created = app
            .create_design(&owner, &design_body(&format!("Design {i}")))
            .await;
        ids.push(id_of(created.assert_ok(StatusCode::ACCEPTED)));
    }
    let state = app.studio_state();
    let record = studio::designs::find(&state.store, &ids[3])
        .await
        .unwrap()
        .unwrap();
    studio::worker::finish_unlisted(
        &state,
        &record,
        studio::model::DesignStatus::Failed,
        "the provider failed",
    )
    .await;
    let failed = app.get_design(Some(&owner), &ids[3]).await;
    assert_eq!(failed.assert_ok(StatusCode::OK)["status"], "failed");
    app.create_design(&owner, &design_body("In the freed slot"))
        .await
        .assert_ok(StatusCode::ACCEPTED);
    app.create_design(&owner, &design_body("One too many"))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    // The worker skips designs that are no longer generating.
    studio::worker::generate(&state, &ids[3]).await.unwrap();
    let still = app.get_design(Some(&owner), &ids[3]).await;
    assert_eq!(still.assert_ok(StatusCode::OK)["status"], "failed");
}

#[tokio::test]
async fn a_blocked_prompt_is_422_naming_the_category_and_does_not_count() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("edgy")).await;
    let mut body = design_body("Edgy");
    body["prompt"] = json!("a shirt covered in G0R3 and skulls");
    let refused = app.create_design(&owner, &body).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("violence"),
        "{}",
        refused.body
    );
    assert!(refused.body["error"]["fields"]["prompt"].is_array());
    // Look-alike letters in a tag are caught too.
    let mut body = design_body("Edgy tag");
    body["tags"] = json!(["n\u{0430}zi"]);
    app.create_design(&owner, &body)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    // Nothing was created or counted: ten designs still fit.
    assert!(
        app.my_designs(&owner, "")
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );
    for i in 0..10 {
        app.create_design(&owner, &design_body(&format!("Fine {i}")))
            .await
            .assert_ok(StatusCode::ACCEPTED);
    }
    // Both blocks are in the user's audit trail.
    let user = app.user_id(&owner).await;
    let trail = app
        .services
        .store
        .partition_items(&format!("AUDIT#USER#{user}"))
        .await
        .unwrap();
    let blocked = trail
        .iter()
        .filter(|item| item["action"].as_s().unwrap() == "studio.prompt_blocked")
        .count();
    assert_eq!(blocked, 2);
}

#[tokio::test]
async fn repeated_blocked_prompts_suspend_generation_for_a_while() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("persistent")).await;
    let mut body = design_body("Again");
    body["prompt"] = json!("beheading scene on a hoodie");
    for _ in 0..3 {
        app.create_design(&owner, &body)
            .await
            .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    }
    let banned = app.create_design(&owner, &design_body("Innocent")).await;
    banned.assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert!(
        banned.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("suspended")
    );
    let retry: u64 = banned.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 3600, "{retry}");
    let user = app.user_id(&owner).await;
    let trail = app
        .services
        .store
        .partition_items(&format!("AUDIT#USER#{user}"))
        .await
        .unwrap();
    assert!(
        trail
            .iter()
            .any(|item| item["action"].as_s().unwrap() == "studio.generation_suspended")
    );
    // Another user is not affected.
    let other = app.signed_in_as(&unique_email("bystander")).await;
    app.create_design(&other, &design_body("Fine"))
        .await
        .assert_ok(StatusCode::ACCEPTED);
}

#[tokio::test]
async fn private_designs_are_never_in_the_gallery_and_404_to_others() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("shy")).await;
    let stranger = app.signed_in_as(&unique_email("curious")).await;
    let mut body = design_body("Secret");
    body["isPublic"] = json!(false);
    let design = app.ready_design(&owner, &body).await;
    let id = id_of(&design);

    app.get_design(Some(&stranger), &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.get_design(None, &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.like_design(&stranger, &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.update_design(&stranger, &id, &json!({ "title": "Mine now" }), None)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    app.delete_design(&stranger, &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let gallery = app.gallery("").await;
    assert!(
        gallery
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Made public it shows; made private again it is gone.
    let etag = app.get_design(Some(&owner), &id).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let public = app
        .update_design(&owner, &id, &json!({ "isPublic": true }), Some(&etag))
        .await;
    public.assert_ok(StatusCode::OK);
    let listed = app.gallery("?category=dress").await;
    assert_eq!(listed.assert_ok(StatusCode::OK)[0]["id"], json!(id));
    app.get_design(Some(&stranger), &id)
        .await
        .assert_ok(StatusCode::OK);
    // The old ETag is stale now.
    app.update_design(&owner, &id, &json!({ "isPublic": false }), Some(&etag))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    app.update_design(&owner, &id, &json!({ "isPublic": false }), None)
        .await
        .assert_ok(StatusCode::OK);
    let gallery = app.gallery("").await;
    assert!(
        gallery
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.get_design(Some(&stranger), &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");

    // A design still generating is not shown either, even if public.
    let pending = app.create_design(&owner, &design_body("Pending")).await;
    let pending = id_of(pending.assert_ok(StatusCode::ACCEPTED));
    app.get_design(Some(&stranger), &pending)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert!(
        app.gallery("")
            .await
            .assert_ok(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Deleted, it is gone for its owner too, with its image.
    let url = design["image"]["url"].as_str().unwrap().to_owned();
    let deleted = app.delete_design(&owner, &id).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get_design(Some(&owner), &id)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
}

#[tokio::test]
async fn the_gallery_refuses_filters_it_does_not_know() {
    let app = spawn_app().await;
    for query in [
        "?style=",
        "?category=",
        "?category=hats",
        "?sort=",
        "?sort=best",
    ] {
        app.gallery(query)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    }
    app.gallery("?style=casual&category=dress")
        .await
        .assert_ok(StatusCode::OK);
}

#[tokio::test]
async fn the_gallery_orders_newest_and_popular_across_categories() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("prolific")).await;
    let mut ids = Vec::new();
    for (title, category, style) in [
        ("Oldest dress", "dress", "vintage"),
        ("Middle shirt", "shirt", "sporty"),
        ("Newest pants", "pants", "casual"),
    ] {
        let mut body = design_body(title);
        body["category"] = json!(category);
        body["style"] = json!(style);
        if category == "shirt" {
            body["tags"] = json!(["retro"]);
        }
        ids.push(id_of(&app.ready_design(&owner, &body).await));
    }
    let fans: Vec<String> = join_all((0..3).map(|i| app.signed_in_as_fan(i))).await;
    for fan in &fans {
        app.like_design(fan, &ids[0])
            .await
            .assert_ok(StatusCode::OK);
    }
    // Reddit's formula ranks one like like none, so the shirt gets two.
    for fan in &fans[..2] {
        app.like_design(fan, &ids[1])
            .await
            .assert_ok(StatusCode::OK);
    }

    let order = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let newest = app.gallery("?sort=newest").await;
    assert_eq!(
        order(newest.assert_ok(StatusCode::OK)),
        vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    let popular = app.gallery("?sort=popular").await;
    assert_eq!(
        order(popular.assert_ok(StatusCode::OK)),
        vec![ids[0].clone(), ids[1].clone(), ids[2].clone()]
    );
    assert_eq!(popular.body["data"][0]["likes"], 3);

    // Pages merge the category partitions and go on where they stopped.
    let first = app.gallery("?sort=popular&limit=2").await;
    assert_eq!(
        order(first.assert_ok(StatusCode::OK)),
        vec![ids[0].clone(), ids[1].clone()]
    );
    let cursor = first.body["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .gallery(&format!("?sort=popular&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(
        order(second.assert_ok(StatusCode::OK)),
        vec![ids[2].clone()]
    );
    assert!(
        second.body["pagination"]["nextCursor"].is_null(),
        "{}",
        second.body
    );

    // Filters.
    let shirts = app.gallery("?category=shirt").await;
    assert_eq!(
        order(shirts.assert_ok(StatusCode::OK)),
        vec![ids[1].clone()]
    );
    let vintage = app.gallery("?style=vintage").await;
    assert_eq!(
        order(vintage.assert_ok(StatusCode::OK)),
        vec![ids[0].clone()]
    );
    let retro = app.gallery("?tag=RETRO").await;
    assert_eq!(order(retro.assert_ok(StatusCode::OK)), vec![ids[1].clone()]);

    // Unliking lowers the rank: with one like the shirt ties the pants
    // (none), and the pants are newer.
    app.unlike_design(&fans[0], &ids[1])
        .await
        .assert_ok(StatusCode::OK);
    let popular = app.gallery("?sort=popular").await;
    assert_eq!(
        order(popular.assert_ok(StatusCode::OK)),
        vec![ids[0].clone(), ids[2].clone(), ids[1].clone()]
    );

    // Bad parameters and forged cursors are 400s.
    app.gallery("?sort=hottest")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.gallery("?category=hats")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.gallery("?cursor=bm90LWEtY3Vyc29y")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.gallery(&format!("?category=shirt&cursor={cursor}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
}

#[tokio::test]
async fn thirty_concurrent_likes_count_exactly_thirty() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("popular")).await;
    let id = id_of(
        &app.ready_design(&owner, &design_body("Crowd pleaser"))
            .await,
    );
    let fans: Vec<String> = join_all((0..30).map(|i| app.signed_in_as_fan(i))).await;

    let liked = join_all(fans.iter().map(|fan| app.like_design(fan, &id))).await;
    for response in &liked {
        response.assert_ok(StatusCode::OK);
    }
    let design = app.get_design(Some(&owner), &id).await;
    assert_eq!(design.assert_ok(StatusCode::OK)["likes"], 30);

    // Liking twice counts once; unliking twice is harmless.
    app.like_design(&fans[0], &id)
        .await
        .assert_ok(StatusCode::OK);
    let after = app.unlike_design(&fans[1], &id).await;
    assert_eq!(after.assert_ok(StatusCode::OK)["likes"], 29);
    let again = app.unlike_design(&fans[1], &id).await;
    assert_eq!(again.assert_ok(StatusCode::OK)["likes"], 29);
    let design = app.get_design(Some(&owner), &id).await;
    assert_eq!(design.assert_ok(StatusCode::OK)["likes"], 29);
    // The popular sort key was scored at the last change.
    let item = app
        .stored_item(&format!("DESIGN#{id}"), "DESIGN")
        .await
        .unwrap();
    // 30 likes and one unlike changed the count; the repeats did not.
    assert_eq!(item["scoredEvents"].as_n().unwrap(), "31");
    assert_eq!(
        item["GSI3SK"].as_s().unwrap(),
        &studio::model::hot_sort_key(
            29,
            item["createdEpoch"].as_n().unwrap().parse().unwrap(),
            &id
        )
    );
}

#[tokio::test]
async fn a_view_counts_once_per_viewer_per_day() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("watched")).await;
    let viewer = app.signed_in_as(&unique_email("viewer")).await;
    let id = id_of(&app.ready_design(&owner, &design_body("On show")).await);

    let first = app.get_design(Some(&viewer), &id).await;
    assert_eq!(first.assert_ok(StatusCode::OK)["views"], 1);
    let second = app.get_design(Some(&viewer), &id).await;
    assert_eq!(second.assert_ok(StatusCode::OK)["views"], 1);
    // The owner's own views do not count; an anonymous visitor's does, once.
    app.get_design(Some(&owner), &id)
        .await
        .assert_ok(StatusCode::OK);
    assert_eq!(
        app.get_design(None, &id).await.assert_ok(StatusCode::OK)["views"],
        2
    );
    assert_eq!(
        app.get_design(None, &id).await.assert_ok(StatusCode::OK)["views"],
        2
    );

    // The markers name nobody: their keys are HMACs, and they expire.
    let items = app
        .services
        .store
        .partition_items(&format!("DESIGN#{id}"))
        .await
        .unwrap();
    let views: Vec<_> = items
        .iter()
        .filter(|item| item["SK"].as_s().unwrap().starts_with("VIEW#"))
        .collect();
    assert_eq!(views.len(), 2);
    let viewer_id = app.user_id(&viewer).await;
    for marker in views {
        let text = format!("{marker:?}");
        assert!(!text.contains(&viewer_id), "{text}");
        assert!(marker.contains_key("ttl"));
    }

    // The next day the same visitor counts again.
    app.clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        app.get_design(None, &id).await.assert_ok(StatusCode::OK)["views"],
        3
    );
}

#[tokio::test]
async fn invalid_designs_are_refused_with_every_problem() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("careless")).await;
    let body = json!({
        "title": "",
        "prompt": "ok",
        "category": "hat",
        "style": "punk",
        "colors": ["#123456", "#12345g", "#aaa", "#000000", "#111111", "#222222"],
        "tags": ["fine", "not fine!"],
        "isPublic": true,
    });
    let refused = app.create_design(&owner, &body).await;
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let fields = &refused.body["error"]["fields"];
    for field in ["title", "prompt", "category", "style", "colors", "tags"] {
        assert!(fields[field].is_array(), "{field}: {fields}");
    }
    let mut missing = design_body("No prompt");
    missing.as_object_mut().unwrap().remove("prompt");
    app.create_design(&owner, &missing)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let mut unknown = design_body("Extra");
    unknown["price"] = json!(10);
    app.create_design(&owner, &unknown)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    let malformed = app
        .post_raw("/v1/designs", Some("application/json"), "{not json")
        .await;
    assert!(
        malformed.status == StatusCode::BAD_REQUEST || malformed.status == StatusCode::UNAUTHORIZED,
        "{:?}",
        malformed.status
    );
    app.call(
        Method::POST,
        "/v1/designs",
        None,
        Some(&design_body("Anon")),
    )
    .await
    .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    app.my_designs(&owner, "?cursor=garbage")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "VALIDATION_FAILED");
    app.get_design(Some(&owner), "01JUNKJUNKJUNKJUNKJUNKJUNK")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NOT_FOUND");
    let design = app.create_design(&owner, &design_body("Fine")).await;
    let id = id_of(design.assert_ok(StatusCode::ACCEPTED));
    app.update_design(&owner, &id, &json!({ "title": "x".repeat(101) }), None)
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    app.update_design(&owner, &id, &json!({ "title": "Better" }), Some("\"7\""))
        .await
        .assert_error(StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED");
    let renamed = app
        .update_design(
            &owner,
            &id,
            &json!({ "title": "Better", "description": "Soft" }),
            Some("\"1\""),
        )
        .await;
    let renamed_body = renamed.assert_ok(StatusCode::OK);
    assert_eq!(renamed_body["title"], "Better");
    assert_eq!(renamed_body["description"], "Soft");
    assert_eq!(renamed.headers["etag"], "\"2\"");
}

/// The studio's state with OpenAI's clients, against the local stand-in.
fn openai_state(app: &TestApp, moderation: bool) -> studio::StudioState {
    let settings = studio::StudioSettings::from_lookup(|name| match name {
        "STUDIO_IMAGE_PROVIDER" => Some("openai".into()),
        "STUDIO_MODERATION" => Some(if moderation { "openai" } else { "none" }.into()),
        "OPENAI_IMAGE_MODEL" => Some("gpt-image-1".into()),
        _ => std::env::var(name).ok(),
    })
    .expect("the stack's environment names the OpenAI stand-in");
    let secrets = studio::StudioSecrets {
        openai_api_key: Some(stand_in_key()),
        ..Default::default()
    };
    studio::StudioState::new(
        &app.services,
        Some(app.services.signing.clone()),
        &settings,
        secrets,
    )
}

fn stand_in_base() -> String {
    std::env::var("OPENAI_API_BASE").expect("the stack runs the OpenAI stand-in")
}

fn stand_in_key() -> String {
    std::env::var("OPENAI_API_KEY").expect("the stack names a key for the stand-in")
}

fn dress_inputs(prompt: &str) -> studio::generator::DesignInputs {
    studio::generator::DesignInputs {
        prompt: prompt.into(),
        category: studio::model::DesignCategory::Dress,
        style: studio::model::DesignStyle::Casual,
        colors: vec!["#cc2233".into(), "#1144aa".into()],
    }
}

#[tokio::test]
async fn the_openai_images_client_draws_against_the_stand_in() {
    use studio::providers::{Generated, ImageModel, OpenAiImages, ProviderError};
    // GPT image models answer base64 without being asked; DALL-E models are asked.
    for model in ["gpt-image-1", "dall-e-3"] {
        let client = OpenAiImages::new(&stand_in_base(), model, &stand_in_key());
        let Generated::Image(image) = client.generate(&dress_inputs("poppies")).await.unwrap()
        else {
            panic!("{model}: the Images API answers at once");
        };
        let decoded = image::load_from_memory(&image.png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (1024, 1536), "{model}");
        let (_, score) =
            studio::palette::analyse(&image.png, &["#cc2233".into(), "#1144aa".into()]).unwrap();
        assert_eq!(
            score, 1.0,
            "{model}: the stand-in paints the requested colours"
        );
        assert_eq!(image.parameters["size"], "1024x1536");
    }
    let client = OpenAiImages::new(&stand_in_base(), "gpt-image-1", &stand_in_key());
    let refused = client
        .generate(&dress_inputs("standin-blocked poppies"))
        .await
        .unwrap_err();
    assert!(matches!(refused, ProviderError::Blocked(_)), "{refused:?}");
    let down = client
        .generate(&dress_inputs("standin-unavailable"))
        .await
        .unwrap_err();
    assert!(matches!(down, ProviderError::Unavailable(_)), "{down:?}");
    let keyless = OpenAiImages::new(&stand_in_base(), "gpt-image-1", "");
    let unauthorized = keyless
        .generate(&dress_inputs("poppies"))
        .await
        .unwrap_err();
    assert!(
        matches!(unauthorized, ProviderError::Rejected(_)),
        "{unauthorized:?}"
    );
}

#[tokio::test]
async fn an_openai_design_is_ready_or_blocked_and_a_blocked_one_gives_its_slot_back() {
    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("openai")).await;
    let state = openai_state(&app, false);
    let mut ids = Vec::new();
    for i in 0..10 {
        let mut body = design_body(&format!("Design {i}"));
        if i == 0 {
            body["prompt"] = json!("standin-blocked poppies");
        }
        let created = app.create_design(&owner, &body).await;
        ids.push(id_of(created.assert_ok(StatusCode::ACCEPTED)));
    }
    for id in &ids[..2] {
        studio::worker::generate(&state, id).await.unwrap();
    }
    let blocked = app.get_design(Some(&owner), &ids[0]).await;
    let blocked = blocked.assert_ok(StatusCode::OK);
    assert_eq!(blocked["status"], "blocked", "{blocked}");
    assert!(
        blocked["statusReason"]
            .as_str()
            .unwrap()
            .contains("safety system")
    );
    let ready = app.get_design(Some(&owner), &ids[1]).await;
    let ready = ready.assert_ok(StatusCode::OK);
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["generation"]["provider"], "openai");
    assert_eq!(ready["generation"]["model"], "gpt-image-1");
    assert_eq!(ready["image"]["height"], 1536);
    // The blocked design gave its slot back: one more fits, then no more.
    app.create_design(&owner, &design_body("In the blocked one's slot"))
        .await
        .assert_ok(StatusCode::ACCEPTED);
    app.create_design(&owner, &design_body("Too many"))
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    // A provider that is down leaves the design generating, for a retry.
    let mut body = design_body("Later");
    body["prompt"] = json!("standin-unavailable");
    let other = app.signed_in_as(&unique_email("patient")).await;
    let later = id_of(
        app.create_design(&other, &body)
            .await
            .assert_ok(StatusCode::ACCEPTED),
    );
    assert!(studio::worker::generate(&state, &later).await.is_err());
    let pending = app.get_design(Some(&other), &later).await;
    assert_eq!(pending.assert_ok(StatusCode::OK)["status"], "generating");
}

#[tokio::test]
async fn the_moderation_provider_refuses_flagged_prompts_before_any_design() {
    use studio::providers::{ModerationModel, OpenAiModeration, Verdict};
    let client = OpenAiModeration::new(&stand_in_base(), "omni-moderation-latest", &stand_in_key());
    assert_eq!(
        client.check("a calm linen shirt").await.unwrap(),
        Verdict::Allowed
    );
    assert_eq!(
        client.check("standin-flagged shirt").await.unwrap(),
        Verdict::Flagged("violence".into())
    );

    let app = spawn_app().await;
    let owner = app.signed_in_as(&unique_email("moderated")).await;
    let router = shared::http::service(studio::routes(openai_state(&app, true)));
    let api = devserver::client::Api::over(router);
    let mut body = design_body("Flagged");
    body["prompt"] = json!("standin-flagged pattern");
    let refused: bodega_tests::TestResponse = api
        .call(Method::POST, "/v1/designs", Some(&owner), Some(&body), &[])
        .await
        .unwrap()
        .into();
    refused.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED");
    assert_eq!(
        refused.body["error"]["details"]["category"], "violence",
        "{}",
        refused.body
    );
    let accepted: bodega_tests::TestResponse = api
        .call(
            Method::POST,
            "/v1/designs",
            Some(&owner),
            Some(&design_body("Calm")),
            &[],
        )
        .await
        .unwrap()
        .into();
    accepted.assert_ok(StatusCode::ACCEPTED);
}
