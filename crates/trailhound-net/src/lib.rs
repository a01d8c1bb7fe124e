//! trailhound-net: where CloudTrail comes from when it is not on disk, and where findings go when
//! they are not a file (issue 15). It may use the network and (later) an async runtime and the AWS
//! SDK; it must never hold detection logic, and the engine (`trailhound-core`) must never depend on
//! it. Today it holds what needs no network to test: reading the S3 object notifications SQS
//! delivers, in the three shapes AWS sends them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aws;
pub mod notification;

/// The SDK crates, for callers that set up what trailhound reads (tests, tools).
pub use {aws_config, aws_sdk_s3, aws_sdk_sns, aws_sdk_sqs};
