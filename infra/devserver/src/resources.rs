//! The resources the functions need, created on the local stack from the same
//! definition that template.yaml declares (a test compares the two).

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

/// The table's shape. template.yaml's `Table` resource must say the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// (name, type) in declaration order.
    pub attributes: &'static [(&'static str, &'static str)],
    /// (partition, sort).
    pub key: (&'static str, &'static str),
    /// (index name, partition, sort, projection).
    pub global_indexes: &'static [(&'static str, &'static str, &'static str, &'static str)],
    pub billing_mode: &'static str,
    pub stream_view_type: &'static str,
    pub ttl_attribute: &'static str,
}

pub const TABLE: TableSpec = TableSpec {
    attributes: &[
        ("PK", "S"),
        ("SK", "S"),
        ("GSI1PK", "S"),
        ("GSI1SK", "S"),
        ("GSI2PK", "S"),
        ("GSI2SK", "S"),
        ("GSI3PK", "S"),
        ("GSI3SK", "S"),
        ("GSI4PK", "S"),
        ("GSI4SK", "S"),
    ],
    key: ("PK", "SK"),
    global_indexes: &[
        ("GSI1", "GSI1PK", "GSI1SK", "ALL"),
        ("GSI2", "GSI2PK", "GSI2SK", "ALL"),
        ("GSI3", "GSI3PK", "GSI3SK", "ALL"),
        ("GSI4", "GSI4PK", "GSI4SK", "ALL"),
    ],
    billing_mode: "PAY_PER_REQUEST",
    stream_view_type: "NEW_AND_OLD_IMAGES",
    ttl_attribute: "ttl",
};

fn key_schema(partition: &str, sort: &str) -> anyhow::Result<Vec<KeySchemaElement>> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(partition)
            .key_type(KeyType::Hash)
            .build()?,
        KeySchemaElement::builder()
            .attribute_name(sort)
            .key_type(KeyType::Range)
            .build()?,
    ])
}

/// Creates the table (with its stream and TTL) unless it exists.
pub async fn ensure_table(client: &aws_sdk_dynamodb::Client, name: &str) -> anyhow::Result<()> {
    let spec = &TABLE;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(spec.billing_mode))
        .set_key_schema(Some(key_schema(spec.key.0, spec.key.1)?))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(spec.stream_view_type))
                .build()?,
        );
    for (attr, kind) in spec.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(*attr)
                .attribute_type(ScalarAttributeType::from(*kind))
                .build()?,
        );
    }
    for (index, partition, sort, projection) in spec.global_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*index)
                .set_key_schema(Some(key_schema(partition, sort)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(*projection))
                        .build(),
                )
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err) if err.code() == Some("ResourceInUseException") => return Ok(()),
        Err(err) => return Err(anyhow::Error::new(err).context(format!("creating table {name}"))),
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(spec.ttl_attribute)
                .enabled(true)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("enabling TTL on {name}")))?;
    Ok(())
}

/// Creates the assets bucket unless it exists, and lets anyone read its
/// `public/` prefix: locally that stands in for the CDN in front of it in
/// AWS (template.yaml), where the bucket stays private and only CloudFront
/// reads that prefix.
pub async fn ensure_bucket(client: &aws_sdk_s3::Client, name: &str) -> anyhow::Result<()> {
    match client.create_bucket().bucket(name).send().await {
        Ok(_) => {}
        Err(err)
            if matches!(
                err.code(),
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
            ) => {}
        Err(err) => return Err(anyhow::Error::new(err).context(format!("creating bucket {name}"))),
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicMediaStandIn",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{name}/{}*", shared::asset_refs::PUBLIC_PREFIX),
        }]
    });
    client
        .put_bucket_policy()
        .bucket(name)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("opening {name}'s public/ prefix")))?;
    Ok(())
}

/// Registers the sender identity with SES unless it is there.
pub async fn ensure_sender(client: &aws_sdk_sesv2::Client, sender: &str) -> anyhow::Result<()> {
    match client
        .create_email_identity()
        .email_identity(sender)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("AlreadyExistsException") => Ok(()),
        Err(err) => Err(anyhow::Error::new(err).context(format!("creating SES identity {sender}"))),
    }
}

/// Creates the queue the URL names (bulk sends, design generation) (its last segment) unless it
/// exists, with a visibility timeout above the worker's timeout, as
/// template.yaml's `MailSendQueue` and `StudioGenerationQueue`.
pub async fn ensure_queue(client: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<()> {
    let name = url.rsplit('/').next().unwrap_or_default();
    client
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "720",
        )
        .send()
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("creating queue {name}")))?;
    Ok(())
}

/// Everything the functions expect to exist, from their configuration.
pub async fn ensure_all(services: &shared::FullServices) -> anyhow::Result<()> {
    let config = &services.config;
    ensure_table(services.store.client(), &config.table_name).await?;
    ensure_bucket(&services.s3, &config.bucket_name).await?;
    ensure_sender(&services.ses, &config.sender_email).await?;
    let sqs = aws_sdk_sqs::Client::new(&services.sdk);
    for url in [
        &config.mail_send_queue_url,
        &config.platform_email_queue_url,
        &config.studio_queue_url,
        &config.manufacturing_queue_url,
        &config.shipment_queue_url,
        &config.sourcing_matching_queue_url,
    ]
    .into_iter()
    .flatten()
    {
        ensure_queue(&sqs, url).await?;
    }
    // Where the stream's and the upload trigger's on-failure records go
    // (the devserver's event sources, not a function's configuration).
    for variable in [
        crate::dead_letters::STREAM_QUEUE_ENV,
        crate::dead_letters::INGEST_QUEUE_ENV,
    ] {
        if let Some(destination) = crate::dead_letters::Destination::from_env(&sqs, variable) {
            ensure_queue(&sqs, &destination.url).await?;
        }
    }
    Ok(())
}
