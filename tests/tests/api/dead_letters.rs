//! Records that can never be processed: each worker reports a poison
//! message in `BatchItemFailures` while the rest of its batch proceeds;
//! every event source has bounded retries and a dead-letter queue in
//! template.yaml; and the redrive tool puts dead letters back on their
//! queue. (Manufacturing and shipments: `manufacturing.rs`; the stream:
//! `stream.rs`.)

use axum::http::{Method, StatusCode};
use bodega_tests::{emails_to, sample_events, unique_email};
use serde_json::json;
use serde_yaml_ng::Value as Yaml;
use shared::sqs::{BatchResponse, SqsEvent};

/// The sample batch of a queue with a poison message after its first.
fn with_poison(sample: &str) -> SqsEvent {
    let mut event = sample_events()[sample].clone();
    let mut poison = event["Records"][0].clone();
    poison["messageId"] = json!("poison-1");
    poison["body"] = json!("{\"not\": \"the message this queue carries\"");
    event["Records"].as_array_mut().unwrap().push(poison);
    serde_json::from_value(event).expect("an SQS event")
}

fn failed(response: BatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn a_poison_generation_message_is_reported_and_the_batch_goes_on() {
    let app = bodega_tests::spawn_app().await;
    let response = studio::worker::handle_batch(
        &app.studio_state(),
        with_poison("studio/worker-generation-batch.json"),
    )
    .await;
    assert_eq!(failed(response), vec!["poison-1".to_owned()]);
}

#[tokio::test]
async fn a_poison_matching_message_is_reported_and_the_batch_goes_on() {
    let app = bodega_tests::spawn_app().await;
    let response = sourcing::worker::handle_batch(
        &sourcing::SourcingState::new(&app.services),
        with_poison("sourcing/worker-matching-batch.json"),
    )
    .await;
    assert_eq!(failed(response), vec!["poison-1".to_owned()]);
}

#[tokio::test]
async fn a_poison_send_message_is_reported_and_the_real_one_beside_it_is_sent() {
    let app = crate::mail_delivery::app_with_queue().await;
    let t = crate::mail::team(&app).await;
    let id = crate::mail_delivery::active_newsletter(&app, &t).await;
    let to = unique_email("poison-neighbour");
    let body = json!({ "templateId": id, "recipients": [
        { "email": to, "data": { "firstName": "Ada", "orderNumber": "N-1" } }
    ]});
    crate::mail::MailApi::mail(
        &app,
        Method::POST,
        &t.owner,
        &format!("/v1/orgs/{}/sends", t.org),
        Some(&body),
    )
    .await
    .assert_ok(StatusCode::ACCEPTED);
    let state = mail::MailState::new(&app.services, app.services.signing.clone());
    let queue = state.queue.as_ref().expect("the app has a send queue");
    let received = queue
        .sqs
        .receive_message()
        .queue_url(&queue.url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1);
    let mut event = SqsEvent::default();
    event.records.push(shared::sqs::SqsMessage {
        message_id: "poison-1".into(),
        receipt_handle: String::new(),
        body: "{not json".into(),
    });
    event.records.push(shared::sqs::SqsMessage {
        message_id: received[0].message_id.clone().unwrap(),
        receipt_handle: String::new(),
        body: received[0].body.clone().unwrap(),
    });
    let response = mail::worker::handle_batch(&state, event, None).await;
    assert_eq!(failed(response), vec!["poison-1".to_owned()]);
    assert_eq!(emails_to(&to).await.len(), 1);
}

fn resources() -> serde_yaml_ng::Mapping {
    bodega_tests::template()["Resources"]
        .as_mapping()
        .expect("template.yaml has resources")
        .clone()
}

/// The logical id a `!GetAtt X.Arn` or `!Ref X` names.
fn target(value: &Yaml) -> String {
    let Yaml::Tagged(tagged) = value else {
        panic!("not a reference: {value:?}");
    };
    tagged
        .value
        .as_str()
        .unwrap_or_else(|| panic!("{value:?}"))
        .trim_end_matches(".Arn")
        .to_owned()
}

#[test]
fn every_event_source_has_bounded_retries_and_a_dead_letter_queue() {
    let resources = resources();
    let mut checked = Vec::new();
    for (name, resource) in &resources {
        let name = name.as_str().unwrap();
        let properties = &resource["Properties"];
        let Some(events) = properties["Events"].as_mapping() else {
            continue;
        };
        for (event_name, event) in events {
            let source = format!("{name}.{}", event_name.as_str().unwrap());
            let settings = &event["Properties"];
            match event["Type"].as_str().unwrap() {
                "SQS" => {
                    let queue = &resources[target(&settings["Queue"]).as_str()];
                    let redrive = &queue["Properties"]["RedrivePolicy"];
                    let receives = redrive["maxReceiveCount"].as_u64();
                    assert!(
                        receives.is_some_and(|n| (1..=10).contains(&n)),
                        "{source}: its queue needs a RedrivePolicy with a small maxReceiveCount"
                    );
                    let dlq = target(&redrive["deadLetterTargetArn"]);
                    assert_eq!(resources[dlq.as_str()]["Type"], "AWS::SQS::Queue");
                    assert!(
                        settings["FunctionResponseTypes"]
                            .as_sequence()
                            .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
                        "{source}: partial batch failures"
                    );
                }
                "DynamoDB" => {
                    assert!(
                        settings["MaximumRetryAttempts"]
                            .as_u64()
                            .is_some_and(|n| n <= 10),
                        "{source}: bounded retries"
                    );
                    assert_eq!(settings["BisectBatchOnFunctionError"], true, "{source}");
                    let dlq = target(&settings["DestinationConfig"]["OnFailure"]["Destination"]);
                    assert_eq!(resources[dlq.as_str()]["Type"], "AWS::SQS::Queue");
                }
                "S3" => {
                    let invoke = &properties["EventInvokeConfig"];
                    assert!(
                        invoke["MaximumRetryAttempts"]
                            .as_u64()
                            .is_some_and(|n| n <= 2),
                        "{source}: bounded retries of the asynchronous invocation"
                    );
                    let dlq = target(&invoke["DestinationConfig"]["OnFailure"]["Destination"]);
                    assert_eq!(resources[dlq.as_str()]["Type"], "AWS::SQS::Queue");
                }
                _ => continue,
            }
            checked.push(source);
        }
    }
    // The stream, the upload trigger and the five queues.
    assert!(checked.len() >= 7, "{checked:?}");
}

#[tokio::test]
async fn the_redrive_tool_moves_dead_letters_back_to_their_queue() {
    bodega_tests::stack_config("unused");
    let sdk = shared::services::load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let queue = |name: String| {
        let sqs = sqs.clone();
        async move {
            sqs.create_queue()
                .queue_name(name)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap()
        }
    };
    let work = queue(format!("work-{suffix}")).await;
    let dead = queue(format!("dead-{suffix}")).await;
    let bodies: Vec<String> = (0..12)
        .map(|i| json!({ "designId": format!("d-{i}") }).to_string())
        .collect();
    for body in &bodies {
        sqs.send_message()
            .queue_url(&dead)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        devserver::redrive::redrive(&sqs, &dead, &work, 5)
            .await
            .unwrap(),
        5,
        "at most --max"
    );
    assert_eq!(
        devserver::redrive::redrive(&sqs, &dead, &work, 1000)
            .await
            .unwrap(),
        7
    );
    let mut moved = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(&work)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        moved.extend(page.into_iter().filter_map(|m| m.body));
    }
    moved.sort();
    let mut expected = bodies.clone();
    expected.sort();
    assert_eq!(moved, expected);
    assert_eq!(
        devserver::redrive::redrive(&sqs, &dead, &work, 1000)
            .await
            .unwrap(),
        0,
        "the dead-letter queue is empty"
    );
}
