//! Decoder tests: every accepted shape and every skip reason, on real CloudTrail record shapes.
use super::stream::{read_line_capped, LineRead};
use super::*;

/// A real-shaped instance-credential call (from the invictus dataset, shortened).
const CALL: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROATFQR7NSC6Q6YRQ2Q7:i-0dbc91f429e48eeed","arn":"arn:aws:sts::123837392027:assumed-role/steal-role/i-0dbc91f429e48eeed","accountId":"123837392027","accessKeyId":"ASIATFQR7NSC36DZQP7P","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROATFQR7NSC6Q6YRQ2Q7","arn":"arn:aws:iam::123837392027:role/steal-role","accountId":"123837392027","userName":"steal-role"},"webIdFederationData":{},"attributes":{"creationDate":"2023-07-10T11:55:22Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"1.0"}},"eventTime":"2023-07-10T11:57:22Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"192.168.10.20","userAgent":"aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10","requestParameters":null,"responseElements":null,"requestID":"8bd4c64d-fd05-4e07-b056-6dfa3c985576","eventID":"bf68f8c0-590b-4740-ac89-aad0ed5dfe4f","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123837392027","eventCategory":"Management"}"#;

/// The EC2 service's AssumeRole at launch (invictus, token shortened).
const ASSUME: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},"eventTime":"2023-07-10T11:55:22Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{"roleArn":"arn:aws:iam::123837392027:role/steal-role","roleSessionName":"i-0dbc91f429e48eeed"},"responseElements":{"credentials":{"accessKeyId":"ASIATFQR7NSC36DZQP7P","sessionToken":"IQoJb3JpZ2luX2VjECwFAKE","expiration":"Jul 10, 2023, 6:30:22 PM"}},"requestID":"95b435ce-68af-4a4b-b89c-f653d8946ebc","eventID":"55e25aa9-7165-446e-aef6-815c7a79a961","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123837392027","sharedEventID":"9afb1ca1-b70a-480d-8475-233f825f865e","eventCategory":"Management"}"#;

fn run(bytes: &[u8]) -> (Vec<Event>, Vec<Skip>) {
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    decode_bytes("test.json", bytes, &mut out);
    let (mut events, mut skips) = (Vec::new(), Vec::new());
    for r in out {
        match r {
            Ok(e) => events.push(e),
            Err(s) => skips.push(s),
        }
    }
    (events, skips)
}

fn ids(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event_id()).collect()
}

#[test]
fn records_file_decodes_fields() {
    let doc = format!(r#"{{"Records":[{CALL},{ASSUME}]}}"#);
    let (events, skips) = run(doc.as_bytes());
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(
        ids(&events),
        [
            "bf68f8c0-590b-4740-ac89-aad0ed5dfe4f",
            "55e25aa9-7165-446e-aef6-815c7a79a961"
        ]
    );
    let call = &events[0];
    assert_eq!(
        call.identity.access_key_id.as_deref(),
        Some("ASIATFQR7NSC36DZQP7P")
    );
    assert_eq!(call.identity.delivery, Some(crate::event::Delivery::ImdsV1));
    assert_eq!(call.source_ip, "192.168.10.20");
    assert_eq!(call.read_only, Some(true));
    assert_eq!(call.time.to_string(), "2023-07-10T11:57:22Z");
    let crate::event::Detail::Issued(issued) = &events[1].detail else {
        panic!("no credentials: {:?}", events[1].detail)
    };
    assert_eq!(issued.access_key_id, "ASIATFQR7NSC36DZQP7P");
    assert_eq!(issued.session_name.as_deref(), Some("i-0dbc91f429e48eeed"));
    assert_eq!(
        issued.expiration.map(|t| t.to_string()).as_deref(),
        Some("2023-07-10T18:30:22Z")
    );
    // The session token never reaches the event.
    assert!(!format!("{:?}", events[1]).contains("IQoJ"));
}

#[test]
fn ndjson_array_pretty_and_envelope_forms() {
    let ndjson = format!("{CALL}\n\n{ASSUME}\n");
    assert_eq!(ids(&run(ndjson.as_bytes()).0).len(), 2);
    let array = format!("[{CALL},\n{ASSUME}]");
    assert_eq!(ids(&run(array.as_bytes()).0).len(), 2);
    let value: serde_json::Value = serde_json::from_str(CALL).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    assert_eq!(
        ids(&run(pretty.as_bytes()).0),
        ["bf68f8c0-590b-4740-ac89-aad0ed5dfe4f"]
    );
    let pretty_doc =
        serde_json::to_string_pretty(&serde_json::json!({"Records": [value]})).unwrap();
    assert_eq!(run(pretty_doc.as_bytes()).0.len(), 1);
    let envelope = format!(
        r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.sts","detail":{CALL}}}"#
    );
    assert_eq!(
        ids(&run(envelope.as_bytes()).0),
        ["bf68f8c0-590b-4740-ac89-aad0ed5dfe4f"]
    );
    let bom = format!("\u{feff}{CALL}");
    assert_eq!(run(bom.as_bytes()).0.len(), 1);
}

#[test]
fn at_timestamp_and_string_booleans() {
    let export = CALL
        .replace(
            r#""eventTime":"2023-07-10T11:57:22Z""#,
            r#""@timestamp":"2023-07-10T11:57:22.000Z""#,
        )
        .replace(r#""readOnly":true"#, r#""readOnly":"false""#);
    let (events, skips) = run(export.as_bytes());
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(events[0].time.to_string(), "2023-07-10T11:57:22Z");
    assert_eq!(events[0].read_only, Some(false));
    let missing = CALL.replace(r#","readOnly":true"#, "");
    assert_eq!(run(missing.as_bytes()).0[0].read_only, None);
}

#[test]
fn bad_records_are_skipped_one_by_one() {
    let number_time = CALL.replace(
        r#""eventTime":"2023-07-10T11:57:22Z""#,
        r#""eventTime":1688990242"#,
    );
    let object_ip = CALL.replace(
        r#""sourceIPAddress":"192.168.10.20""#,
        r#""sourceIPAddress":{"ip":"1.2.3.4"}"#,
    );
    let doc = format!(r#"{{"Records":[{number_time},{CALL},{object_ip},{{"foo":1}}]}}"#);
    let (events, skips) = run(doc.as_bytes());
    assert_eq!(events.len(), 1);
    let got: Vec<(Position, &str)> = skips.iter().map(|s| (s.position, s.reason.key())).collect();
    assert_eq!(
        got,
        [
            (Position::Record(1), "bad_record"),
            (Position::Record(3), "bad_record"),
            (Position::Record(4), "bad_record")
        ]
    );
    assert!(
        skips[0].to_string().starts_with("test.json: record 1: "),
        "{}",
        skips[0]
    );
}

#[test]
fn invalid_json_lines_and_broken_documents() {
    let ndjson = format!("{CALL}\n{{\"eventName\": nope}}\n{ASSUME}\n");
    let (events, skips) = run(ndjson.as_bytes());
    assert_eq!(events.len(), 2);
    assert_eq!(
        (skips[0].position, skips[0].reason),
        (Position::Line(2), SkipReason::InvalidJson)
    );
    assert_eq!(skips[0].to_string().split(": ").next(), Some("test.json:2"));

    // A log file cut in the middle keeps its first record.
    let doc = format!(r#"{{"Records":[{CALL},{{"eventVersion":"1.08","#);
    let (events, skips) = run(doc.as_bytes());
    assert_eq!(events.len(), 1);
    assert_eq!(skips.len(), 1);
    assert_eq!(skips[0].reason, SkipReason::InvalidJsonDocument);
    assert!(
        skips[0].message.contains("after 1 records"),
        "{}",
        skips[0].message
    );
}

#[test]
fn digest_unrelated_empty_and_text_files() {
    let digest = r#"{"awsAccountId":"123456789012","digestStartTime":"2024-03-05T11:00:00Z","digestEndTime":"2024-03-05T12:00:00Z","digestS3Bucket":"b","digestS3Object":"o","logFiles":[]}"#;
    for (bytes, reason) in [
        (digest.as_bytes(), SkipReason::DigestFile),
        (
            br#"{"name":"package","version":"1.0"}"#.as_slice(),
            SkipReason::NotCloudtrail,
        ),
        (b"".as_slice(), SkipReason::NotCloudtrail),
        (b"hello world\n".as_slice(), SkipReason::NotCloudtrail),
        (b"\xff\xfe\x00garbage".as_slice(), SkipReason::NotCloudtrail),
    ] {
        let (events, skips) = run(bytes);
        assert!(events.is_empty());
        assert_eq!(
            skips.iter().map(|s| s.reason).collect::<Vec<_>>(),
            [reason],
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(skips[0].position, Position::File);
    }
}

#[test]
fn over_long_lines_are_skipped_without_buffering() {
    let mut r: &[u8] = b"0123456789\nabc\n";
    let mut buf = Vec::new();
    assert!(matches!(
        read_line_capped(&mut r, &mut buf, 5).unwrap(),
        LineRead::TooLong(11)
    ));
    buf.clear();
    assert!(matches!(
        read_line_capped(&mut r, &mut buf, 5).unwrap(),
        LineRead::Line
    ));
    assert_eq!(buf, b"abc\n");
}

#[test]
fn net_facts_are_extracted_from_ec2_events() {
    let alloc = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123837392027:user/bert-jan","accountId":"123837392027","accessKeyId":"AKIATFQR7NSC8Q4X20BJ"},"eventTime":"2023-07-10T11:55:08Z","eventSource":"ec2.amazonaws.com","eventName":"AllocateAddress","awsRegion":"us-east-1","sourceIPAddress":"192.168.10.20","userAgent":"terraform","requestParameters":{"domain":"vpc"},"responseElements":{"requestId":"c6671a81","publicIp":"3.225.16.109","domain":"vpc","allocationId":"eipalloc-08a083beb7e83dbc0","publicIpv4Pool":"amazon","networkBorderGroup":"us-east-1"},"requestID":"c6671a81","eventID":"a4ff516f-8f9a-4c36-9700-b31a883c1a6e","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"123837392027"}"#;
    let (events, _) = run(alloc.as_bytes());
    let crate::event::Detail::Net(facts) = &events[0].detail else {
        panic!()
    };
    assert_eq!(
        facts.as_slice(),
        [crate::event::NetFact::EipAllocated {
            allocation: Some("eipalloc-08a083beb7e83dbc0".into()),
            addr: "3.225.16.109".parse().unwrap()
        }]
    );
    // A failed call establishes nothing.
    let failed = alloc.replace(
        r#""readOnly":false"#,
        r#""readOnly":false,"errorCode":"AddressLimitExceeded""#,
    );
    assert_eq!(
        run(failed.as_bytes()).0[0].detail,
        crate::event::Detail::None
    );
}

// Issue 7 (hostile input): regressions for what the malformed corpus found.

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Decodes gzip bytes through the same sniffing reader as files, and checks that the fast path
/// for inputs held whole ([`decode_whole`]) gives exactly the same.
fn run_gz(bytes: Vec<u8>) -> (Vec<Event>, Vec<Skip>) {
    let name: Arc<str> = Arc::from("test.json.gz");
    let mut whole: Vec<Result<Event, Skip>> = Vec::new();
    decode_whole(&name, &bytes, &mut whole);
    let (mut reader, gz) = crate::input::sniff(io::Cursor::new(bytes));
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    decode(&name, &mut reader, gz, &mut out);
    assert_eq!(format!("{whole:?}"), format!("{out:?}"));
    let (mut events, mut skips) = (Vec::new(), Vec::new());
    for r in out {
        match r {
            Ok(e) => events.push(e),
            Err(s) => skips.push(s),
        }
    }
    (events, skips)
}

fn reasons(skips: &[Skip]) -> Vec<(Position, SkipReason)> {
    skips.iter().map(|s| (s.position, s.reason)).collect()
}

#[test]
fn issue7_truncated_gzip_of_a_one_line_log_keeps_records_before_the_cut() {
    // CloudTrail writes a log file on one line: the cut falls inside that line, here inside a third
    // record made long and incompressible.
    let noise: String = (0u64..4000)
        .map(|i| format!("{:x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40))
        .collect();
    let third = CALL.replace("aws-sdk-go-v2/1.17.0", &noise);
    let doc = format!(r#"{{"Records":[{CALL},{ASSUME},{third}]}}"#);
    let gz = gzip(doc.as_bytes());
    let (events, skips) = run_gz(gz[..gz.len() - 5000].to_vec());
    assert_eq!(events.len(), 2, "{skips:?}");
    assert_eq!(
        reasons(&skips),
        [(Position::File, SkipReason::TruncatedGzip)],
        "one skip for one cut: {skips:?}"
    );
    assert!(
        skips[0]
            .message
            .contains("the 2 events before the cut were kept"),
        "{}",
        skips[0]
    );
    // The same cut in a pretty-printed document (read whole) and in NDJSON.
    let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();
    let gz = gzip(pretty.as_bytes());
    let (events, skips) = run_gz(gz[..gz.len() - 5000].to_vec());
    assert_eq!(events.len(), 2, "{skips:?}");
    assert_eq!(
        reasons(&skips),
        [(Position::File, SkipReason::TruncatedGzip)]
    );
    let gz = gzip(format!("{CALL}\n{ASSUME}\n{third}\n").as_bytes());
    let (events, skips) = run_gz(gz[..gz.len() - 5000].to_vec());
    assert_eq!(events.len(), 2, "{skips:?}");
    assert_eq!(
        reasons(&skips),
        [(Position::File, SkipReason::TruncatedGzip)]
    );
    assert!(skips[0].message.contains("after line 2"), "{}", skips[0]);
}

#[test]
fn issue7_concatenated_log_files_are_all_read() {
    // `cat a.json.gz b.json.gz`: one stream, two documents, no newline between them.
    let a = format!(r#"{{"Records":[{CALL}]}}"#);
    let b = format!(r#"{{"Records":[{ASSUME}]}}"#);
    let mut bytes = gzip(a.as_bytes());
    bytes.extend(gzip(b.as_bytes()));
    let (events, skips) = run_gz(bytes);
    assert!(skips.is_empty(), "{skips:?}");
    assert_eq!(events.len(), 2);
    // Also plain, and with a broken document second: the first keeps its records.
    let (events, skips) = run(format!("{a}{b}{a}").as_bytes());
    assert_eq!((events.len(), skips.len()), (3, 0), "{skips:?}");
    let (events, skips) = run(format!(r#"{a}{{"Records":"x"}}{b}"#).as_bytes());
    assert_eq!(events.len(), 2);
    assert_eq!(
        reasons(&skips),
        [(Position::Line(1), SkipReason::InvalidJsonDocument)]
    );
    // Two log files on two lines: both read.
    let (events, skips) = run(format!("{a}\n{b}\n").as_bytes());
    assert_eq!((events.len(), skips.len()), (2, 0), "{skips:?}");
}

#[test]
fn issue7_a_foreign_first_line_costs_one_line_not_the_file() {
    for first in [
        "{}",
        "# exported by a pipeline",
        r#"{"messageType":"CONTROL_MESSAGE"}"#,
    ] {
        let ndjson = format!("{first}\n{CALL}\n{ASSUME}\n");
        let (events, skips) = run(ndjson.as_bytes());
        assert_eq!(events.len(), 2, "{first}: {skips:?}");
        assert_eq!(skips.len(), 1, "{skips:?}");
        assert_eq!(skips[0].position, Position::Line(1));
        assert!(!skips[0].reason.is_file_level());
    }
    // A file of foreign lines only is still one file-level skip.
    let foreign = "{\"a\":1}\n".repeat(500);
    let (events, skips) = run(foreign.as_bytes());
    assert!(events.is_empty());
    assert_eq!(
        reasons(&skips),
        [(Position::File, SkipReason::NotCloudtrail)]
    );
    // A cut record on line 1 followed by NDJSON: only line 1 is lost.
    let ndjson = format!("{{\"eventVersion\":\"1.08\",\n{CALL}\n{ASSUME}\n");
    let (events, skips) = run(ndjson.as_bytes());
    assert_eq!(events.len(), 2, "{skips:?}");
    assert_eq!(
        reasons(&skips),
        [(Position::Line(1), SkipReason::InvalidJson)]
    );
    // A digest document after events does not stop the file.
    let digest = r#"{"digestStartTime":"2024-03-05T11:00:00Z","digestS3Object":"o"}"#;
    let (events, skips) = run(format!("{CALL}\n{digest}\n{ASSUME}\n").as_bytes());
    assert_eq!(events.len(), 2);
    assert_eq!(
        reasons(&skips),
        [(Position::Line(2), SkipReason::BadRecord)]
    );
}

#[test]
fn issue7_bytes_that_are_not_utf8_cost_their_record() {
    let bad = CALL.replace("aws-sdk-go-v2", "aws-sdk-go-\u{1}");
    let mut doc = format!(r#"{{"Records":[{ASSUME},{bad},{CALL}]}}"#).into_bytes();
    let i = doc.iter().position(|&b| b == 1).unwrap();
    doc[i] = 0xFF;
    let (events, skips) = run(&doc);
    assert_eq!(events.len(), 2, "{skips:?}");
    assert_eq!(
        reasons(&skips),
        [(Position::Record(2), SkipReason::InvalidJson)]
    );
    // The same in an array, and as NDJSON.
    let mut array = format!("[{ASSUME},{bad},{CALL}]").into_bytes();
    let i = array.iter().position(|&b| b == 1).unwrap();
    array[i] = 0xC3;
    let (events, skips) = run(&array);
    assert_eq!(
        (events.len(), reasons(&skips)),
        (2, vec![(Position::Record(2), SkipReason::InvalidJson)])
    );
    let mut ndjson = format!("{ASSUME}\n{bad}\n{CALL}\n").into_bytes();
    let i = ndjson.iter().position(|&b| b == 1).unwrap();
    ndjson[i] = 0xFF;
    let (events, skips) = run(&ndjson);
    assert_eq!(
        (events.len(), reasons(&skips)),
        (2, vec![(Position::Line(2), SkipReason::InvalidJson)])
    );
}

#[test]
fn issue7_documents_over_the_cap_say_so() {
    let doc = format!("[{CALL},\n{ASSUME}]");
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    let mut decoder = Decoder::new(Arc::from("big.json"), false, &mut out);
    decoder.max_document = 100;
    decoder.run(&mut doc.as_bytes(), 0);
    decoder.finish();
    let skips: Vec<&Skip> = out.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert_eq!(skips[0].reason, SkipReason::InvalidJsonDocument);
    assert!(
        skips[0].message.contains("larger than 100 bytes"),
        "{}",
        skips[0]
    );
}

#[test]
fn issue7_messages_never_carry_secrets() {
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTOKEN";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    let cases = [
        CALL.replace(
            r#""userIdentity":{"#,
            &format!(r#""userIdentity":"{TOKEN}","x":{{"#),
        ),
        CALL.replace("2023-07-10T11:57:22Z", SECRET),
        CALL.replace(
            r#""ec2RoleDelivery":"1.0""#,
            &format!(r#""ec2RoleDelivery":{{"sessionToken":"{TOKEN}"}}"#),
        ),
        CALL.replace(r#""readOnly":true"#, &format!(r#""readOnly":"{SECRET}""#)),
        CALL.replace(
            r#""eventSource":"sts.amazonaws.com""#,
            &format!(r#""eventSource":["{SECRET}"]"#),
        ),
        format!(r#"{{"Records":"{TOKEN}"}}"#),
        format!("{SECRET} is not JSON"),
        // Cut at the 40th character of the quote: redaction must run before the cut.
        format!("aws_secret_access_key = {SECRET}"),
        format!(
            "{{\"Records\":[{{\"eventTime\":\"{}\"}}]}}",
            "x".repeat(1 << 20)
        ),
    ];
    for case in &cases {
        let (events, skips) = run(case.as_bytes());
        assert!(events.is_empty());
        assert!(!skips.is_empty(), "{case}");
        for s in &skips {
            let text = s.to_string();
            assert!(
                !text.contains(&TOKEN[..12]) && !text.contains(&SECRET[..12]),
                "secret in {text}"
            );
            assert!(text.len() < 600, "long message: {}", &text[..200]);
        }
    }
}

#[test]
fn issue7_fuzz_non_utf8_in_an_unread_field_costs_the_line() {
    // serde_json skips strings of unread fields without checking their UTF-8: the event used to
    // be read with an empty record text, which `enrich` could not write.
    let bad = CALL.replace(r#""requestID":"8bd4"#, "\"requestID\":\"\u{1}8bd4");
    let mut bytes = format!("{CALL}\n{bad}\n{ASSUME}\n").into_bytes();
    let at = bytes.iter().position(|&b| b == 1).expect("marker");
    bytes[at] = 0xFF;
    let (events, skips) = run(&bytes);
    assert_eq!(events.len(), 2);
    assert_eq!(
        reasons(&skips),
        [(Position::Line(2), SkipReason::InvalidJson)]
    );
    assert!(skips[0].message.starts_with("not UTF-8"), "{}", skips[0]);
}

#[test]
fn issue7_records_must_be_objects_not_positional_arrays() {
    // serde fills a struct from a sequence by position: a 20-value array used to become an event.
    let positional = r#"["2024-03-05T10:20:00Z",null,"id1","s3.amazonaws.com","ListBuckets",null,"1.2.3.4",null,null,null,null,null,null,null,null,null,null,null,null,null]"#;
    for doc in [
        format!(r#"{{"Records":[{CALL},{positional}]}}"#),
        format!("[{CALL},{positional}]"),
    ] {
        let (events, skips) = run(doc.as_bytes());
        assert_eq!(events.len(), 1, "{doc}");
        assert_eq!(
            reasons(&skips),
            [(Position::Record(2), SkipReason::BadRecord)]
        );
        assert!(skips[0]
            .message
            .contains("must be a JSON object, not an array"));
    }
    let line = format!(
        r#"{{"version":"0","detail-type":"AWS API Call via CloudTrail","detail":{positional}}}"#
    );
    let (events, skips) = run(format!("{CALL}\n{line}\n").as_bytes());
    assert_eq!(events.len(), 1);
    assert_eq!(
        reasons(&skips),
        [(Position::Line(2), SkipReason::BadRecord)]
    );
}

/// Keeps record text, as `enrich` does (also the enrich stage's tests' decoder).
pub(crate) struct WithText(pub(crate) Vec<Event>);

impl Sink for WithText {
    fn event(&mut self, event: Box<Event>) {
        self.0.push(*event);
    }
    fn skip(&mut self, _: Skip) {}
    fn wants_raw(&self) -> bool {
        true
    }
}

#[test]
fn record_text_holds_no_more_than_twice_its_document() {
    // A long line first grows the thread's line buffer; the small log files after it must not
    // each keep a buffer that size while their records wait in the reorder window.
    let mut input = format!(r#"{{"x":"{}"}}"#, "a".repeat(1 << 20)).into_bytes();
    for i in 0..20 {
        let call = CALL.replace("bf68f8c0-590b-4740-ac89-aad0ed5dfe4f", &format!("id-{i}"));
        input.extend_from_slice(format!("\n{{\"Records\":[{call}]}}").as_bytes());
    }
    let mut sink = WithText(Vec::new());
    decode(&Arc::from("t.json"), &mut &input[..], false, &mut sink);
    assert_eq!(sink.0.len(), 20);
    for ev in &sink.0 {
        let raw = ev.raw.as_ref().expect("record text");
        assert!(raw.as_str().contains("GetCallerIdentity"));
        let doc = raw.as_str().len() + r#"{"Records":[]}"#.len();
        assert!(
            raw.held_bytes() <= 2 * doc,
            "{} bytes held",
            raw.held_bytes()
        );
    }
}
