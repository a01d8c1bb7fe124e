//! Enrichment tests: the hand-written bytes are the serde form, on every fixture event and on odd
//! records (escapes, a service source, a foreign VPC endpoint, a trusted range, an attack tool).
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::config::{Settings, Trusted};
use crate::decode::{self, tests::WithText};
use crate::event::{TextParts, Texts};
use crate::input;
use crate::ranges::Ranges;

/// Odd but possible records: strings that need escaping, a service source, a VPC endpoint of
/// another account, a trusted range, an attack tool.
const ODD: &str = r#"
{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/a\"b\\c\u0007é","accountId":"123456789012","accessKeyId":"AKIAEXAMPLEODD00001"},"eventTime":"2024-03-05T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.1.2.3","userAgent":"Boto3/1.34.0 \"quoted\" Linux/5.7.0-kali1-amd64","requestParameters":null,"responseElements":null,"eventID":"00000000-0000-4000-8000-000000000001","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012","vpcEndpointId":"vpce-0abc","vpcEndpointAccountId":"210987654321"}
{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},"eventTime":"2024-03-05T12:00:01Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"lambda.amazonaws.com","userAgent":"lambda.amazonaws.com","eventID":"00000000-0000-4000-8000-000000000002","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}
{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2024-03-05T12:00:02Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"2001:db8::1","userAgent":"","eventID":"00000000-0000-4000-8000-000000000003","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}
{"eventVersion":"1.08","userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012"},"eventTime":"2024-03-05T12:00:03Z","eventSource":"odd\\svc.amazonaws.com","eventName":"Odd\"Name","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"x","eventID":"00000000-0000-4000-8000-000000000004","eventType":"AwsApiCall","recipientAccountId":"123456789012"}
"#;

fn decoded(name: &str, bytes: &[u8]) -> Vec<Event> {
    let name: Arc<str> = Arc::from(name);
    let (mut reader, gzip) = input::sniff(bytes);
    let mut out = WithText(Vec::new());
    decode::decode(&name, &mut reader, gzip, &mut out);
    out.0
}

/// Every fixture event, and the odd records above.
fn corpus() -> Vec<Event> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut events = decoded("odd.ndjson", ODD.as_bytes());
    for f in files {
        let bytes = std::fs::read(&f).expect("fixture");
        events.extend(decoded(&f.display().to_string(), &bytes));
    }
    events
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("fixture dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.to_string_lossy().ends_with(".json.gz")
            || path.to_string_lossy().ends_with(".ndjson")
        {
            out.push(path);
        }
    }
    out
}

#[test]
fn hand_written_enrichment_is_the_serde_form() {
    let settings = Settings {
        trusted: vec![Trusted {
            cidr: "10.0.0.0/8".parse().expect("cidr"),
            label: "corp \"vpn\"".into(),
        }],
        ..Settings::default()
    };
    let book = AddressBook::new(Ranges::builtin(), &settings.trusted);
    let mut tracker = Tracker::new(&settings);
    let mut by_hand = Enricher::new(Format::Ndjson, "t");
    let mut by_serde = Enricher::new(Format::Ndjson, "t");
    let events = corpus();
    assert!(events.len() > 500, "fixtures not found: {}", events.len());
    let (mut escaped, mut service, mut endpoint, mut tools) = (0, 0, 0, 0);
    let mut odd_action = 0;
    for ev in &events {
        tracker.observe(ev, &book);
        let ua = UserAgent::parse(ev.user_agent());
        let mut line = Vec::new();
        by_hand
            .write(&mut line, ev, &ua, &tracker, &book)
            .expect("write");
        let line = String::from_utf8(line).expect("utf-8");
        let at = line.rfind(",\"enrichment\":").expect("enrichment appended");
        let got = &line[at + ",\"enrichment\":".len()..line.len() - 2];
        let want = serde_json::to_string(&by_serde.enrichment(ev, &ua, &tracker, &book))
            .expect("serialise");
        assert_eq!(got, want, "event {}", ev.event_id());
        escaped += usize::from(got.contains("\\\""));
        odd_action += usize::from(got.starts_with(r#"{"action":"odd\\svc:Odd\"Name""#));
        service += usize::from(got.contains("\"service\":"));
        endpoint += usize::from(got.contains("\"vpc_endpoint\":"));
        tools += usize::from(got.contains("\"attack_tool\":"));
    }
    assert!(escaped > 0 && service > 0 && endpoint > 0 && tools > 0);
    assert_eq!(odd_action, 1);
}

#[test]
fn es_bulk_action_line_is_the_serde_form() {
    let settings = Settings::default();
    let book = AddressBook::new(Ranges::builtin(), &settings.trusted);
    let tracker = Tracker::new(&settings);
    let index = "ct-\"odd\"";
    let mut enricher = Enricher::new(Format::EsBulk, index);
    let mut ev = corpus().swap_remove(0);
    ev.texts = Texts::new(TextParts {
        event_id: "id-with-\"quote\"",
        ..ev.texts.parts()
    });
    let mut out = Vec::new();
    enricher
        .write(
            &mut out,
            &ev,
            &UserAgent::parse(ev.user_agent()),
            &tracker,
            &book,
        )
        .expect("write");
    let out = String::from_utf8(out).expect("utf-8");
    let (action, doc) = out.split_once('\n').expect("two lines");
    let want = serde_json::json!({"index": {"_index": index, "_id": ev.event_id()}});
    assert_eq!(action, want.to_string());
    let doc: serde_json::Value = serde_json::from_str(doc.trim_end()).expect("a JSON document");
    assert!(doc["enrichment"].is_object());
}
