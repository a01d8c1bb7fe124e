//! The AWS calls trailhound makes, through the official AWS SDK for Rust: reading objects from S3
//! (one by one, or a listing under a prefix), taking and deleting messages from an SQS queue, and
//! publishing findings to an SNS topic.
//!
//! Standard AWS configuration applies (the default credential chain, `AWS_REGION`, profiles,
//! `AWS_ENDPOINT_URL`); `--region` and `--endpoint-url` override it. With an endpoint URL (an
//! S3-compatible store, or moto in tests), S3 is addressed path-style.
use std::fmt;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

/// Where to connect.
#[derive(Clone, Debug, Default)]
pub struct Connect {
    /// AWS region (else from the environment or profile).
    pub region: Option<String>,
    /// Endpoint for every service (else `AWS_ENDPOINT_URL` or AWS's own).
    pub endpoint_url: Option<String>,
}

/// Clients for S3, SQS and SNS, sharing one configuration.
#[derive(Clone, Debug)]
pub struct Aws {
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    sns: aws_sdk_sns::Client,
}

/// Why a call failed (an object not read, a queue not reached, a message not published).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Failure {
    /// The object does not exist (deleted, or never written).
    Gone,
    /// Access denied (the worker's policy, a bucket policy or a KMS key).
    Denied,
    /// The service answered with another error.
    Refused,
    /// No answer: network, timeout, throttling after the SDK's own retries.
    Unreachable,
}

impl Failure {
    /// The reason's name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Gone => "object_gone",
            Failure::Denied => "access_denied",
            Failure::Refused => "s3_error",
            Failure::Unreachable => "s3_unreachable",
        }
    }
}

/// A failed call: its kind and what the service said.
#[derive(Clone, Debug)]
pub struct CallError {
    /// What kind of failure.
    pub kind: Failure,
    /// The service's code and message, or the transport's error.
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for CallError {}

/// An object under a listed prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// One SQS message.
#[derive(Clone, Debug)]
pub struct Message {
    /// The queue's id for it.
    pub id: String,
    /// What deleting it (or delaying it) takes.
    pub receipt: String,
    /// The body (an S3 notification, normally).
    pub body: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
}

impl Aws {
    /// Loads the standard AWS configuration, with `connect`'s overrides.
    pub async fn connect(connect: &Connect) -> Aws {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &connect.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(url) = &connect.endpoint_url {
            loader = loader.endpoint_url(url.clone());
        }
        let config = loader.load().await;
        let path_style = connect.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(path_style)
            .build();
        Aws {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
        }
    }

    /// The S3 client (for tests and tools that set up buckets).
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    /// The SQS client.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    /// The SNS client.
    pub fn sns(&self) -> &aws_sdk_sns::Client {
        &self.sns
    }

    /// Reads a whole object.
    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, CallError> {
        let out = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(classify)?;
        let bytes = out.body.collect().await.map_err(|e| CallError {
            kind: Failure::Unreachable,
            message: format!("reading the body: {e}"),
        })?;
        Ok(bytes.to_vec())
    }

    /// Every object under `prefix`, in the order S3 lists them (by key).
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, CallError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut listed = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            for o in page.contents() {
                if let Some(key) = o.key() {
                    listed.push(Listed {
                        key: key.to_owned(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                    });
                }
            }
        }
        Ok(listed)
    }

    /// Takes up to `max` messages (1–10), waiting up to `wait_s` seconds for the first (long
    /// polling), hidden from other consumers for `visibility_s` seconds.
    pub async fn receive(
        &self,
        queue: &str,
        max: i32,
        wait_s: i32,
        visibility_s: i32,
    ) -> Result<Vec<Message>, CallError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait_s.clamp(0, 20))
            .visibility_timeout(visibility_s.max(0))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(classify)?;
        Ok(out
            .messages()
            .iter()
            .map(|m| Message {
                id: m.message_id().unwrap_or_default().to_owned(),
                receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            })
            .collect())
    }

    /// Deletes messages (by receipt), ten per call; returns how many the queue refused.
    pub async fn delete(&self, queue: &str, receipts: &[String]) -> Result<usize, CallError> {
        let mut refused = 0;
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .ok()
                })
                .collect();
            let out = self
                .sqs
                .delete_message_batch()
                .queue_url(queue)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(classify)?;
            refused += out.failed().len();
        }
        Ok(refused)
    }

    /// Makes a message visible again in `delay_s` seconds (a retry with backoff; after the
    /// queue's `maxReceiveCount` receives, its redrive policy moves it to the dead-letter queue).
    pub async fn retry_later(
        &self,
        queue: &str,
        receipt: &str,
        delay_s: i32,
    ) -> Result<(), CallError> {
        self.sqs
            .change_message_visibility()
            .queue_url(queue)
            .receipt_handle(receipt)
            .visibility_timeout(delay_s.clamp(0, 43_200))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Publishes one message to an SNS topic, with string attributes (for subscription filters).
    pub async fn publish(
        &self,
        topic: &str,
        subject: &str,
        message: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), CallError> {
        let mut call = self
            .sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message);
        for (name, value) in attributes {
            if let Ok(v) = aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*value)
                .build()
            {
                call = call.message_attributes(*name, v);
            }
        }
        call.send().await.map_err(classify)?;
        Ok(())
    }
}

/// Sorts an SDK error into a [`Failure`].
fn classify<E, R>(e: aws_sdk_s3::error::SdkError<E, R>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match &e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("unknown");
            let kind = match code {
                "NoSuchKey"
                | "NoSuchBucket"
                | "NotFound"
                | "QueueDoesNotExist"
                | "AWS.SimpleQueueService.NonExistentQueue" => Failure::Gone,
                "AccessDenied" | "Forbidden" | "KMS.AccessDeniedException" => Failure::Denied,
                _ => Failure::Refused,
            };
            CallError {
                kind,
                message: format!("{code}: {}", err.message().unwrap_or("")),
            }
        }
        _ => CallError {
            kind: Failure::Unreachable,
            message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        },
    }
}
