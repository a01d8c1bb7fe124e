//! S3 and SQS from the CLI's side: one tokio runtime and one set of AWS clients, used from plain
//! threads (`block_on`). The engine never waits on the network: objects are fetched by the decode
//! workers (`scan s3://…`) or by the worker loop (`watch`), and handed over as bytes.
use std::sync::Arc;

use anyhow::{Context, Result};
use trailhound_core::decode::{Position, Skip, SkipReason};
use trailhound_core::input;
use trailhound_net::aws::{Aws, CallError, Listed};

use crate::drive::AwsArgs;

/// A runtime and the clients it drives.
pub struct Remote {
    rt: tokio::runtime::Runtime,
    aws: Aws,
}

impl Remote {
    /// Loads the AWS configuration (credentials are resolved at the first call).
    pub fn connect(args: &AwsArgs) -> Result<Remote> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("trailhound-net")
            .enable_all()
            .build()
            .context("cannot start the network runtime")?;
        let aws = rt.block_on(Aws::connect(&args.connect()));
        Ok(Remote { rt, aws })
    }

    /// The clients.
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// The runtime.
    pub fn rt(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    /// Reads a whole object (from any thread outside the runtime).
    pub fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, CallError> {
        self.rt.block_on(self.aws.get(bucket, key))
    }

    /// Lists the objects under `s3://bucket/prefix`.
    pub fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<Listed>, CallError> {
        self.rt.block_on(self.aws.list(bucket, prefix))
    }
}

/// `("bucket", "prefix")` from `s3://bucket/prefix`; none for anything else.
pub fn parse_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, prefix))
}

/// `s3://bucket/key`: how an object is named in messages, skips and the state's inputs read.
pub fn object_url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// True for what CloudTrail writes as a log file: `…/CloudTrail/…/<…>.json.gz` (or `.json`),
/// not a digest, not a folder marker.
pub fn is_cloudtrail_key(key: &str) -> bool {
    (key.ends_with(".json.gz") || key.ends_with(".json"))
        && key.contains("CloudTrail")
        && !input::is_digest(std::path::Path::new(key))
}

/// What an object that could not be read adds to the run's skips.
pub fn fetch_skip(name: Arc<str>, e: &CallError) -> Skip {
    Skip {
        input: name,
        position: Position::File,
        reason: SkipReason::IoError,
        message: format!("cannot read the object: {e}"),
    }
}

/// Delivery stamp first (as local files are ordered), then the name.
pub fn order_key(name: &str) -> (&str, &str) {
    let last = name.rsplit('/').next().unwrap_or(name);
    (input::delivery_stamp(last).unwrap_or(""), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_and_cloudtrail_keys() {
        assert_eq!(
            parse_url("s3://trail/AWSLogs/o-1/"),
            Some(("trail", "AWSLogs/o-1/"))
        );
        assert_eq!(parse_url("s3://trail"), Some(("trail", "")));
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(parse_url("/tmp/AWSLogs"), None);
        let log = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/111122223333_CloudTrail_us-east-1_20261201T0005Z_abc.json.gz";
        assert!(is_cloudtrail_key(log));
        assert!(!is_cloudtrail_key(
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/01/111122223333_CloudTrail-Digest_us-east-1_t_20261201T0005Z.json.gz"
        ));
        assert!(!is_cloudtrail_key("AWSLogs/111122223333/CloudTrail/"));
        assert!(!is_cloudtrail_key("exports/athena/results.csv"));
        assert_eq!(order_key(log).0, "20261201T0005Z");
    }
}
