//! Records that can never be processed: each worker reports a poison
//! message in `BatchItemFailures` while the rest of its batch proceeds;
//! every event source has bounded retries and a dead-letter queue in
//! template.yaml; and the redrive tool puts dead letters back on their
//! queue. (Manufacturing and shipments: `manufacturing.rs`; the stream:
//! `stream.rs`.)

use axum::http::{Method, StatusCode};
use bodega_tests::{sample_events, unique_email};
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
    assert_eq!(app.emails_to(&to).await.len(), 1);
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
    let work = own_queue(&sqs, "work").await;
    let dead = own_queue(&sqs, "dead").await;
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

/// A queue of the test's own on moto's SQS.
/// An outbox whose queue does not exist (a misconfiguration, or SQS
/// refusing): every email it is given fails to queue.
pub(crate) fn missing_queue(app: &bodega_tests::TestApp) -> shared::outbox::Outbox {
    let sqs = std::env::var("AWS_ENDPOINT_URL_SQS").expect("the stack names its SQS endpoint");
    shared::outbox::Outbox::new(
        aws_sdk_sqs::Client::new(&app.services.sdk),
        Some(format!(
            "{}/123456789012/no-such-queue-{}",
            sqs.trim_end_matches('/'),
            ulid::Ulid::new().to_string().to_lowercase()
        )),
    )
}

async fn own_queue(sqs: &aws_sdk_sqs::Client, purpose: &str) -> String {
    let name = format!("{purpose}-{}", ulid::Ulid::new().to_string().to_lowercase());
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The bodies of the messages in a queue, left in it.
async fn peek(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<serde_json::Value> {
    let mut bodies = Vec::new();
    let mut receipts = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if page.is_empty() {
            break;
        }
        for message in page {
            bodies.push(serde_json::from_str(message.body.as_deref().unwrap()).unwrap());
            receipts.push(message.receipt_handle.unwrap());
        }
    }
    for receipt in receipts {
        sqs.change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    bodies
}

fn policy(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    retries: u32,
) -> devserver::dead_letters::FailurePolicy {
    devserver::dead_letters::FailurePolicy {
        maximum_retry_attempts: retries,
        on_failure: Some(devserver::dead_letters::Destination {
            sqs: sqs.clone(),
            url: url.to_owned(),
        }),
    }
}

/// Puts an order item of the wrong shape in the table: the stream function
/// can never read its record.
async fn write_poison_order(app: &bodega_tests::TestApp) {
    use shared::store::Value;
    let item = std::collections::HashMap::from([
        ("PK".to_owned(), Value::S("ORDER#poison".into())),
        ("SK".to_owned(), Value::S("ORDER".into())),
        ("type".to_owned(), Value::S("ORDER".into())),
        ("status".to_owned(), Value::N("12".into())),
    ]);
    app.put_raw_item(item).await;
}

/// A user who changed their password: the stream function's reaction
/// emails them "Your password was changed".
async fn change_password(app: &bodega_tests::TestApp, email: &str) {
    app.register(email, bodega_tests::PASSWORD, "Ada")
        .await
        .assert_ok(StatusCode::CREATED);
    app.request_password_reset(email).await;
    let code = app.only_email_to(email, "Reset").await.code();
    app.reset_password(&code, "a brand new passphrase")
        .await
        .assert_ok(StatusCode::OK);
}

async fn password_changed_emails(app: &bodega_tests::TestApp, to: &str) -> usize {
    app.emails_to(to)
        .await
        .iter()
        .filter(|m| m.subject == "Your password was changed")
        .count()
}

/// Lambda's mapping, as the devserver's pump plays it: the poison record
/// is isolated by halving the batch, retried `MaximumRetryAttempts` times
/// alone, then its position goes to the dead-letter queue as Lambda's
/// on-failure record, and the records behind it are handled.
#[tokio::test]
async fn the_stream_pump_dead_letters_a_poison_record_after_its_retries_and_goes_on() {
    let app = bodega_tests::spawn_app().await;
    let sqs = aws_sdk_sqs::Client::new(&app.services.sdk);
    let dead = own_queue(&sqs, "stream-dead").await;
    let mut stream = devserver::pumps::TableStream::open(&app.services)
        .await
        .unwrap()
        .with_policy(policy(&sqs, &dead, 2));
    write_poison_order(&app).await;
    let to = unique_email("behind-poison");
    change_password(&app, &to).await;

    let mut alone = 0;
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes < 30, "the poison record was never given up on");
        let pass = stream.pass().await.unwrap();
        assert!(
            pass.failed,
            "every pass until then fails on the poison record"
        );
        if pass.records == 1 {
            alone += 1;
        }
        if pass.dead_lettered > 0 {
            break;
        }
        assert!(peek(&sqs, &dead).await.is_empty(), "not before its retries");
    }
    assert_eq!(alone, 3, "the first try alone and 2 retries");
    assert!(
        passes > alone,
        "the batch was halved down to the poison record"
    );

    let letters = peek(&sqs, &dead).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(
        letter["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(letter["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(letter["responseContext"]["functionError"], "Unhandled");
    assert_eq!(letter["version"], "1.0");
    let timestamp = letter["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == "2019-11-14T00:13:49.717Z".len() && timestamp.ends_with('Z'),
        "milliseconds, as Lambda writes it: {timestamp}"
    );
    let batch = &letter["DDBStreamBatchInfo"];
    assert_eq!(batch["batchSize"], 1);
    assert_eq!(batch["streamArn"], stream.stream_arn());
    assert_eq!(batch["startSequenceNumber"], batch["endSequenceNumber"]);
    assert!(batch["shardId"].as_str().is_some_and(|s| !s.is_empty()));
    for arrival in [
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
    ] {
        let text = batch[arrival].as_str().unwrap();
        assert!(
            text.ends_with('Z') && !text.starts_with("1970"),
            "{arrival}: {text}"
        );
    }
    // It names the poison record.
    let replayer = devserver::replay::Replayer::new(&app.services, &app.services.sdk);
    let info: devserver::dead_letters::StreamBatchInfo =
        serde_json::from_value(batch.clone()).unwrap();
    let records = replayer.read_range(&info).await.unwrap();
    assert_eq!(records.len(), 1);
    let image = format!("{:?}", records[0].change.new_image);
    assert!(image.contains("ORDER#poison"), "{image}");

    // The shard went on: the records behind the poison one are handled.
    assert_eq!(password_changed_emails(&app, &to).await, 0);
    stream
        .drain()
        .await
        .expect("the rest of the shard is handled");
    assert_eq!(password_changed_emails(&app, &to).await, 1);
}

/// The realistic failure: the stream function's platform email queue is
/// missing (a misconfiguration), so the email reaction fails until it is
/// fixed. Its record lands in the dead-letter queue; replayed with the
/// cause removed, it is applied once, and replaying it again changes
/// nothing.
#[tokio::test]
async fn a_stream_record_that_failed_is_replayed_once_the_cause_is_fixed() {
    let app = bodega_tests::spawn_app().await;
    let sqs = aws_sdk_sqs::Client::new(&app.services.sdk);
    let dead = own_queue(&sqs, "stream-dead").await;
    let mut misconfigured = stream::StreamState::new(&app.services);
    misconfigured.outbox = missing_queue(&app);
    let mut stream = devserver::pumps::TableStream::open(&app.services)
        .await
        .unwrap()
        .with_policy(policy(&sqs, &dead, 1))
        .with_state(misconfigured);
    let to = unique_email("replayed");
    change_password(&app, &to).await;
    for _ in 0..30 {
        let pass = stream.pass().await.unwrap();
        if pass.records == 0 && !pass.failed {
            break;
        }
    }
    assert_eq!(password_changed_emails(&app, &to).await, 0);
    let letters = peek(&sqs, &dead).await;
    assert!(!letters.is_empty(), "the failed record is dead-lettered");

    // The queue is fixed: the replay uses the function's configuration.
    let replayer = devserver::replay::Replayer::new(&app.services, &app.services.sdk);
    let outcome = replayer.replay(&dead, 1000).await.unwrap();
    assert!(outcome.kept.is_empty(), "{:?}", outcome.kept);
    assert_eq!(outcome.replayed, letters.len());
    assert_eq!(password_changed_emails(&app, &to).await, 1);
    assert!(
        peek(&sqs, &dead).await.is_empty(),
        "replayed messages are deleted"
    );

    // The same dead letters replayed again (a copy, or a replay that
    // stopped before its delete) send nothing more.
    for letter in &letters {
        sqs.send_message()
            .queue_url(&dead)
            .message_body(letter.to_string())
            .send()
            .await
            .unwrap();
    }
    let again = replayer.replay(&dead, 1000).await.unwrap();
    assert_eq!((again.replayed, again.kept.len()), (letters.len(), 0));
    assert_eq!(password_changed_emails(&app, &to).await, 1, "applied once");
}

/// Records the stream no longer holds (past its 24 hours, or a shard that
/// is gone) cannot be replayed: the message stays in the queue and the
/// reason names the shard and the sequence numbers.
#[tokio::test]
async fn a_replay_of_records_the_stream_no_longer_holds_keeps_the_message() {
    let app = bodega_tests::spawn_app().await;
    let sqs = aws_sdk_sqs::Client::new(&app.services.sdk);
    let dead = own_queue(&sqs, "stream-dead").await;
    let stream_arn = devserver::pumps::table_stream_arn(&app.services)
        .await
        .unwrap();
    let replayer = devserver::replay::Replayer::new(&app.services, &app.services.sdk);
    let shard = replayer
        .streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .and_then(|d| d.shards)
        .and_then(|s| s.into_iter().next())
        .and_then(|s| s.shard_id)
        .expect("the table's stream has a shard");
    let letter = |shard: &str, start: &str, end: &str| {
        devserver::dead_letters::StreamFailureRecord::exhausted(
            devserver::dead_letters::StreamBatchInfo {
                shard_id: shard.to_owned(),
                start_sequence_number: start.to_owned(),
                end_sequence_number: end.to_owned(),
                approximate_arrival_of_first_record: "2026-01-01T00:00:00Z".to_owned(),
                approximate_arrival_of_last_record: "2026-01-01T00:00:00Z".to_owned(),
                batch_size: 2,
                stream_arn: stream_arn.clone(),
            },
            11,
        )
    };
    let gone_shard = "shardId-00000001000000000000-00000000";
    for record in [
        letter(&shard, "000000000000000000001", "000000000000000000002"),
        letter(gone_shard, "000000000000000000001", "000000000000000000002"),
    ] {
        sqs.send_message()
            .queue_url(&dead)
            .message_body(serde_json::to_string(&record).unwrap())
            .send()
            .await
            .unwrap();
    }
    let outcome = replayer.replay(&dead, 1000).await.unwrap();
    assert_eq!(outcome.replayed, 0);
    assert_eq!(outcome.kept.len(), 2, "{:?}", outcome.kept);
    for shard in [shard.as_str(), gone_shard] {
        assert!(
            outcome.kept.iter().any(|(_, reason)| reason.contains(shard)
                && reason.contains("000000000000000000001 to 000000000000000000002")
                && reason.contains("24 hours")),
            "{shard}: {:?}",
            outcome.kept
        );
    }
    assert_eq!(peek(&sqs, &dead).await.len(), 2, "both stay in the queue");
}

/// An upload whose thumbnail cannot be written fails the ingest function
/// on every retry of the asynchronous invocation (2): Lambda's on-failure
/// record, the S3 event as its payload, lands in the dead-letter queue and
/// the asset stays pending; replayed with S3 back, the asset is ready.
#[tokio::test]
async fn an_upload_ingest_failed_on_every_retry_is_dead_lettered_and_replayed() {
    use bodega_tests::{FaultProxy, Faults};
    let app = bodega_tests::spawn_app().await;
    let sqs = aws_sdk_sqs::Client::new(&app.services.sdk);
    let dead = own_queue(&sqs, "ingest-dead").await;
    let (owner, asset_id, _) = crate::faults::uploaded_product_image(&app).await;

    let proxy = FaultProxy::moto(23).await;
    proxy.set(Faults::fail(100).only(&["/thumbnails/"]));
    let mut state = assets::AssetsState::new(&app.services);
    state.s3 = crate::faults::through_moto(&app.services, &proxy).0;
    let mut notifications = devserver::pumps::UploadNotifications::new(&app.services)
        .with_state(state)
        .with_policy(policy(&sqs, &dead, 2));
    for _ in 0..2 {
        notifications.pass().await.unwrap();
        assert!(peek(&sqs, &dead).await.is_empty(), "not before its retries");
    }
    notifications.pass().await.unwrap();
    let letters = peek(&sqs, &dead).await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["requestContext"]["condition"], "RetriesExhausted");
    assert_eq!(letter["requestContext"]["approximateInvokeCount"], 3);
    let object = &letter["requestPayload"]["Records"][0]["s3"];
    assert_eq!(
        object["bucket"]["name"],
        app.services.config.bucket_name.as_str()
    );
    assert!(
        object["object"]["key"]
            .as_str()
            .is_some_and(|k| k.contains(&asset_id)),
        "{object}"
    );
    assert!(
        letter["responsePayload"]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("PutObject")),
        "{letter}"
    );
    notifications.pass().await.unwrap();
    assert_eq!(
        peek(&sqs, &dead).await.len(),
        1,
        "given up on: not tried again"
    );
    let pending = app.asset(&owner, &asset_id).await;
    assert_eq!(pending.assert_ok(StatusCode::OK)["status"], "pending");

    proxy.heal();
    let replayer = devserver::replay::Replayer::new(&app.services, &app.services.sdk);
    let outcome = replayer.replay(&dead, 1000).await.unwrap();
    assert_eq!(
        (outcome.replayed, outcome.kept.len()),
        (1, 0),
        "{:?}",
        outcome.kept
    );
    let ready = app.asset(&owner, &asset_id).await;
    assert_eq!(ready.assert_ok(StatusCode::OK)["status"], "ready");
    assert!(peek(&sqs, &dead).await.is_empty());
}
