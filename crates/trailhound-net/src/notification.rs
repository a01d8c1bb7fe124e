//! S3 object notifications as an SQS message body carries them, in the three shapes AWS delivers:
//!
//! * **S3 → SQS**: `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{
//!   "bucket":{"name":…},"object":{"key":…,"size":…,"eTag":…,"sequencer":…}}}]}`, the key
//!   URL-encoded (a space is `+`);
//! * **S3 → SNS → SQS**: the same document as the string `Message` of an SNS envelope
//!   (`{"Type":"Notification","TopicArn":…,"Message":"{…}"}`), unless raw message delivery is on,
//!   which gives the first shape;
//! * **EventBridge → SQS**: `{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{
//!   "name":…},"object":{"key":…,"size":…,"etag":…,"sequencer":…}}}`, the key not encoded.
//!
//! `s3:TestEvent` (sent when a notification is configured), other event types (deletes, restores)
//! and CloudTrail digest files are recognised and named, never errors; a body that is none of these
//! is an error naming what it is.
use serde::Deserialize;

/// One object to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded.
    pub key: String,
    /// Size in bytes, when the notification says.
    pub size: Option<u64>,
    /// ETag, when the notification says (identifies the version read).
    pub etag: Option<String>,
}

impl Object {
    /// A CloudTrail digest file (integrity data, no events).
    pub fn is_digest(&self) -> bool {
        self.key.contains("/CloudTrail-Digest/")
    }

    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What one message is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// New objects (usually one).
    Created(Vec<Object>),
    /// `s3:TestEvent`: the notification was just configured.
    Test,
    /// An S3 event that is not a creation (e.g. `ObjectRemoved:Delete`), by name.
    Other(String),
}

/// Why a message body is not a notification.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoticeError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but no shape of S3 notification.
    #[error("not an S3 notification (S3, SNS or EventBridge shape): {0}")]
    Unknown(String),
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "Records")]
    records: Option<Vec<Record>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "Message")]
    message: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    detail: Option<Detail>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventSource")]
    event_source: Option<String>,
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    s3: Option<S3>,
}

#[derive(Deserialize)]
struct S3 {
    bucket: Named,
    object: S3Object,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
    size: Option<u64>,
    #[serde(rename = "eTag", alias = "etag")]
    etag: Option<String>,
}

#[derive(Deserialize)]
struct Detail {
    bucket: Option<Named>,
    object: Option<S3Object>,
}

/// Reads one SQS message body.
pub fn parse(body: &str) -> Result<Notice, NoticeError> {
    let b: Body = serde_json::from_str(body).map_err(|e| NoticeError::NotJson(e.to_string()))?;
    if b.kind.as_deref() == Some("Notification") {
        let inner = b
            .message
            .ok_or_else(|| NoticeError::Unknown("an SNS notification without Message".into()))?;
        return parse(&inner);
    }
    if b.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Notice::Test);
    }
    if let Some(records) = b.records {
        let mut objects = Vec::new();
        let mut other = None;
        for r in records {
            if r.event_source.as_deref() != Some("aws:s3") {
                return Err(NoticeError::Unknown(format!(
                    "a record from {:?}",
                    r.event_source.unwrap_or_default()
                )));
            }
            let name = r.event_name.unwrap_or_default();
            match r.s3 {
                Some(s3) if name.starts_with("ObjectCreated:") => objects.push(Object {
                    bucket: s3.bucket.name,
                    key: url_decode(&s3.object.key),
                    size: s3.object.size,
                    etag: s3.object.etag,
                }),
                _ => other = Some(name),
            }
        }
        return match (objects.is_empty(), other) {
            (true, Some(name)) => Ok(Notice::Other(name)),
            (true, None) => Err(NoticeError::Unknown("no records".into())),
            (false, _) => Ok(Notice::Created(objects)),
        };
    }
    if b.source.as_deref() == Some("aws.s3") {
        let kind = b.detail_type.unwrap_or_default();
        if kind != "Object Created" {
            return Ok(Notice::Other(kind));
        }
        let detail = b
            .detail
            .ok_or_else(|| NoticeError::Unknown("an EventBridge event without detail".into()))?;
        return match (detail.bucket, detail.object) {
            (Some(bucket), Some(object)) => Ok(Notice::Created(vec![Object {
                bucket: bucket.name,
                key: object.key,
                size: object.size,
                etag: object.etag,
            }])),
            _ => Err(NoticeError::Unknown(
                "an EventBridge Object Created without bucket or object".into(),
            )),
        };
    }
    Err(NoticeError::Unknown(
        body.chars().take(80).collect::<String>(),
    ))
}

/// S3's key encoding in notifications: `+` for a space, `%XX` for other bytes. A malformed escape
/// is kept as written.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match b.get(i + 1..i + 3).and_then(|h| {
                std::str::from_utf8(h)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            }) {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AWSLogs/o-1bd04ac8ae/111122223333/CloudTrail/us-east-1/2026/12/03/111122223333_CloudTrail_us-east-1_20261203T0805Z_Yx3tq2l0VwGkq1Zr.json.gz";

    fn direct(key: &str, name: &str) -> String {
        format!(
            r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-12-03T08:05:41.112Z","eventName":"{name}","userIdentity":{{"principalId":"AWS:AROAEXAMPLE:regionalDeliverySession"}},"requestParameters":{{"sourceIPAddress":"10.0.3.7"}},"responseElements":{{"x-amz-request-id":"8F3E1B2C4D5A6B7C","x-amz-id-2":"eXaMpLeHoStId"}},"s3":{{"s3SchemaVersion":"1.0","configurationId":"trailhound","bucket":{{"name":"org-trail-logs","ownerIdentity":{{"principalId":"A3NL1KOZZKExample"}},"arn":"arn:aws:s3:::org-trail-logs"}},"object":{{"key":"{key}","size":4311,"eTag":"0f343b0931126a20f133d67c2b018a3b","sequencer":"0065F1A2B3C4D5E6F7"}}}}}}]}}"#
        )
    }

    fn object(key: &str) -> Object {
        Object {
            bucket: "org-trail-logs".into(),
            key: key.into(),
            size: Some(4311),
            etag: Some("0f343b0931126a20f133d67c2b018a3b".into()),
        }
    }

    #[test]
    fn s3_direct_with_an_encoded_key() {
        let n = parse(&direct(&KEY.replace('_', "%5F"), "ObjectCreated:Put")).unwrap();
        assert_eq!(n, Notice::Created(vec![object(KEY)]));
        let spaced = parse(&direct("logs/a+b%2Bc.json.gz", "ObjectCreated:Put")).unwrap();
        assert_eq!(spaced, Notice::Created(vec![object("logs/a b+c.json.gz")]));
    }

    #[test]
    fn through_sns_the_same_document_is_a_string() {
        let inner = direct(KEY, "ObjectCreated:CompleteMultipartUpload");
        let envelope = serde_json::json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:111122223333:trail-objects",
            "Subject": "Amazon S3 Notification",
            "Message": inner,
            "Timestamp": "2026-12-03T08:05:41.220Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        });
        let n = parse(&envelope.to_string()).unwrap();
        assert_eq!(n, Notice::Created(vec![object(KEY)]));
    }

    #[test]
    fn eventbridge_object_created_has_the_key_as_is() {
        let body = serde_json::json!({
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": "111122223333",
            "time": "2026-12-03T08:05:41Z",
            "region": "us-east-1",
            "resources": ["arn:aws:s3:::org-trail-logs"],
            "detail": {
                "version": "0",
                "bucket": {"name": "org-trail-logs"},
                "object": {"key": KEY, "size": 4311, "etag": "0f343b0931126a20f133d67c2b018a3b", "sequencer": "0065F1A2B3C4D5E6F7"},
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": "cloudtrail.amazonaws.com",
                "source-ip-address": "10.0.3.7",
                "reason": "PutObject"
            }
        });
        assert_eq!(
            parse(&body.to_string()).unwrap(),
            Notice::Created(vec![object(KEY)])
        );
        let deleted = body.to_string().replace("Object Created", "Object Deleted");
        assert_eq!(
            parse(&deleted).unwrap(),
            Notice::Other("Object Deleted".into())
        );
    }

    #[test]
    fn test_events_deletes_and_digests_are_named_not_errors() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-03T08:00:00.000Z","Bucket":"org-trail-logs","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;
        assert_eq!(parse(test).unwrap(), Notice::Test);
        assert_eq!(
            parse(&direct(KEY, "ObjectRemoved:Delete")).unwrap(),
            Notice::Other("ObjectRemoved:Delete".into())
        );
        let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/03/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261203T0805Z.json.gz";
        match parse(&direct(digest, "ObjectCreated:Put")).unwrap() {
            Notice::Created(o) => assert!(o[0].is_digest()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn anything_else_is_an_error_that_says_what_it_is() {
        assert!(matches!(parse("not json"), Err(NoticeError::NotJson(_))));
        assert!(matches!(
            parse(r#"{"hello":"world"}"#),
            Err(NoticeError::Unknown(_))
        ));
        let foreign =
            r#"{"Records":[{"eventSource":"aws:kinesis","eventName":"aws:kinesis:record"}]}"#;
        assert!(matches!(parse(foreign), Err(NoticeError::Unknown(_))));
        // A malformed escape is kept, never a panic.
        assert_eq!(url_decode("a%zz%4"), "a%zz%4");
    }
}
