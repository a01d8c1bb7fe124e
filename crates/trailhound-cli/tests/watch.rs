//! Issue 15: `trailhound watch` against a real S3/SQS/SNS implementation (moto in server mode on
//! 127.0.0.1, started by `.ci/run`). The tests create the bucket, the queue with its dead-letter
//! queue and the bucket notification, upload the simulator's output, and compare what the worker
//! reports with what `scan` reports on the same files: killed with SIGKILL mid-stream and
//! restarted, with duplicated notifications in all three shapes, an object deleted before it is
//! read, a poison message, a destination that is down, and SIGTERM.
//!
//! Without a server these tests skip with a message; under CI (`CI` set) they fail instead.
mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tempdir;
use serde_json::Value;
use trailhound_net::aws_config;
use trailhound_net::aws_sdk_s3 as s3;
use trailhound_net::aws_sdk_sns as sns;
use trailhound_net::aws_sdk_sqs as sqs;

const REGION: &str = "us-east-1";

/// moto's address: `TRAILHOUND_MOTO_URL`, else `http://127.0.0.1:5055` (as `.ci/run` starts it).
fn moto() -> Option<String> {
    let url =
        std::env::var("TRAILHOUND_MOTO_URL").unwrap_or_else(|_| "http://127.0.0.1:5055".into());
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let up = addr
        .parse()
        .ok()
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if up {
        return Some(url);
    }
    if std::env::var_os("CI").is_some() {
        panic!("moto is not running at {url} (CI starts it: see .ci/run)");
    }
    eprintln!(
        "SKIPPED: moto is not running at {url}; start it with `moto_server -H 127.0.0.1 -p 5055` (pip install 'moto[server]')"
    );
    None
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Clients for the test's own calls.
struct Clients {
    s3: s3::Client,
    sqs: sqs::Client,
    sns: sns::Client,
}

fn clients(rt: &tokio::runtime::Runtime, endpoint: &str) -> Clients {
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(s3::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load(),
    );
    Clients {
        s3: s3::Client::from_conf(
            s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        ),
        sqs: sqs::Client::new(&config),
        sns: sns::Client::new(&config),
    }
}

/// What every test starts from: moto, a runtime, clients, and its own bucket and queues.
struct Setup {
    endpoint: String,
    rt: tokio::runtime::Runtime,
    c: Clients,
    w: World,
}

/// [`Setup`] for the test `name`; none (the test skips) when moto is not running.
fn setup(name: &str) -> Option<Setup> {
    let endpoint = moto()?;
    let rt = rt();
    let c = clients(&rt, &endpoint);
    let w = world(&rt, &c, name);
    Some(Setup { endpoint, rt, c, w })
}

/// A bucket whose `ObjectCreated` notifications go to a queue with a dead-letter queue.
struct World {
    bucket: String,
    queue: String,
    dlq: String,
}

fn world(rt: &tokio::runtime::Runtime, c: &Clients, name: &str) -> World {
    let tag = format!("{name}-{}", std::process::id());
    rt.block_on(async {
        let bucket = format!("trail-{tag}");
        c.s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket");
        let dlq = plain_queue(c, &format!("dlq-{tag}")).await;
        let dlq_arn = queue_arn(c, &dlq).await;
        let redrive = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"4"}}"#);
        let queue = c
            .sqs
            .create_queue()
            .queue_name(format!("notify-{tag}"))
            .attributes(sqs::types::QueueAttributeName::RedrivePolicy, redrive)
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("queue url");
        let arn = queue_arn(c, &queue).await;
        let notify = s3::types::NotificationConfiguration::builder()
            .queue_configurations(
                s3::types::QueueConfiguration::builder()
                    .queue_arn(arn)
                    .events(s3::types::Event::S3ObjectCreated)
                    .build()
                    .expect("queue configuration"),
            )
            .build();
        c.s3.put_bucket_notification_configuration()
            .bucket(&bucket)
            .notification_configuration(notify)
            .send()
            .await
            .expect("notification");
        World { bucket, queue, dlq }
    })
}

/// A queue with the default attributes; its URL.
async fn plain_queue(c: &Clients, name: &str) -> String {
    c.sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

async fn queue_arn(c: &Clients, url: &str) -> String {
    c.sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes()
        .and_then(|a| a.get(&sqs::types::QueueAttributeName::QueueArn).cloned())
        .expect("queue arn")
}

/// Uploads `files` (under `root`) as `key = path relative to root`, in the given order.
fn upload(rt: &tokio::runtime::Runtime, c: &Clients, bucket: &str, root: &Path, files: &[PathBuf]) {
    rt.block_on(async {
        for f in files {
            let key = f.strip_prefix(root).expect("under root").to_string_lossy();
            c.s3.put_object()
                .bucket(bucket)
                .key(key.as_ref())
                .body(std::fs::read(f).expect("read file").into())
                .send()
                .await
                .expect("put object");
        }
    });
}

/// Every message in a queue now (received, not deleted).
fn drain(rt: &tokio::runtime::Runtime, c: &Clients, queue: &str) -> Vec<String> {
    rt.block_on(async {
        let mut bodies = Vec::new();
        loop {
            let out = c
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .visibility_timeout(60)
                .send()
                .await
                .expect("receive");
            if out.messages().is_empty() {
                return bodies;
            }
            bodies.extend(
                out.messages()
                    .iter()
                    .filter_map(|m| m.body().map(str::to_owned)),
            );
        }
    })
}

fn send(rt: &tokio::runtime::Runtime, c: &Clients, queue: &str, body: &str) {
    rt.block_on(async {
        c.sqs
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .expect("send");
    });
}

fn trailhound() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trailhound"));
    c.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

/// `watch` on `world`'s queue with short timers, for a test.
fn watch(endpoint: &str, world: &World, state: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = trailhound();
    c.arg("watch")
        .args(["--sqs-queue-url", &world.queue, "--endpoint-url", endpoint])
        .arg("--state")
        .arg(state)
        .arg("--output")
        .arg(out)
        .args([
            "--poll-wait",
            "1s",
            "--checkpoint-every",
            "1s",
            "--visibility-timeout",
            "8s",
            "--retry-delay",
            "1s",
        ])
        .args(extra);
    c
}

/// One simulated day (attacks and ordinary behaviours).
fn day() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempdir("watch-sim");
        let o = trailhound()
            .args([
                "simulate",
                "--days",
                "1",
                "--events",
                "6000",
                "--accounts",
                "3",
                "--seed",
                "15",
                "--out",
            ])
            .arg(&dir)
            .output()
            .expect("run simulate");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir
    })
}

/// The log files of a stolen instance credential used from outside AWS
/// (`tests/fixtures/exfil_outside_aws`), copied under `dir` as CloudTrail lays them out
/// (`AWSLogs/<account>/CloudTrail/<region>/…`), in delivery order; and the fixture's directory.
fn stage_theft(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let fixture = common::repo().join("tests/fixtures/exfil_outside_aws");
    let staged = dir.join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/05");
    std::fs::create_dir_all(&staged).expect("staging");
    let mut keys = Vec::new();
    for e in std::fs::read_dir(&fixture).expect("fixture") {
        let p = e.expect("entry").path();
        if p.to_string_lossy().ends_with(".json.gz") {
            let to = staged.join(p.file_name().expect("name"));
            std::fs::copy(&p, &to).expect("copy");
            keys.push(to);
        }
    }
    keys.sort();
    (fixture, keys)
}

/// The latest version of each finding in a stream of reports, without `status`; and each id's
/// statuses in order.
fn merged(text: &str) -> (BTreeMap<String, Value>, BTreeMap<String, Vec<String>>) {
    let mut latest = BTreeMap::new();
    let mut statuses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let mut f: Value = serde_json::from_str(line).expect("finding JSON");
        let id = f["id"].as_str().expect("id").to_owned();
        let status = f
            .as_object_mut()
            .and_then(|o| o.remove("status"))
            .and_then(|s| s.as_str().map(str::to_owned))
            .expect("status");
        statuses.entry(id.clone()).or_default().push(status);
        latest.insert(id, f);
    }
    (latest, statuses)
}

/// `scan --state` over `files`: what `watch` must report.
fn scan_with_state(sim: &Path, files: &[PathBuf], dir: &Path) -> BTreeMap<String, Value> {
    let out = dir.join("scan.jsonl");
    let o = trailhound()
        .arg("scan")
        .args(files)
        .arg("--config")
        .arg(sim.join("ground-truth/trailhound.toml"))
        .args(["--format", "jsonl", "--no-progress", "--state"])
        .arg(dir.join("scan-state"))
        .arg("--output")
        .arg(&out)
        .output()
        .expect("scan");
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    merged(&std::fs::read_to_string(&out).expect("scan output")).0
}

fn wait_ok(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("watch did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_of(mut child: Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

#[test]
fn issue_15_watch_reports_what_scan_reports_through_kills_duplicates_and_poison() {
    let Some(Setup { endpoint, rt, c, w }) = setup("same") else {
        return;
    };
    let sim = day();
    let all = common::log_files(sim);
    upload(&rt, &c, &w.bucket, sim, &all);
    // Not CloudTrail, and an object deleted before the worker reads it.
    let gone = &all[all.len() / 3];
    rt.block_on(async {
        c.s3.put_object()
            .bucket(&w.bucket)
            .key("exports/athena/results.csv")
            .body(b"a,b\n".to_vec().into())
            .send()
            .await
            .expect("put");
        let key = gone.strip_prefix(sim).expect("under sim").to_string_lossy();
        c.s3.delete_object()
            .bucket(&w.bucket)
            .key(key.as_ref())
            .send()
            .await
            .expect("delete");
    });
    // The same objects notified again, in the SNS and EventBridge shapes; and a poison message.
    let key = |f: &PathBuf| {
        f.strip_prefix(sim)
            .expect("under sim")
            .to_string_lossy()
            .into_owned()
    };
    let s3_shape = format!(
        r#"{{"Records":[{{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put","s3":{{"bucket":{{"name":"{}"}},"object":{{"key":"{}","size":1}}}}}}]}}"#,
        w.bucket,
        key(&all[5])
    );
    let sns_shape = serde_json::json!({
        "Type": "Notification",
        "MessageId": "6f7f4bb8-4d50-5e36-8f1e-1d3a3b8ad9a1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:trail-notify",
        "Subject": "Amazon S3 Notification",
        "Message": s3_shape,
        "Timestamp": "2026-12-06T10:00:00.000Z"
    })
    .to_string();
    let eventbridge_shape = serde_json::json!({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "time": "2026-12-06T10:00:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{}", w.bucket)],
        "detail": {"version": "0", "bucket": {"name": w.bucket},
                   "object": {"key": key(&all[7]), "size": 1, "etag": "d41d8cd98f00b204e9800998ecf8427e"},
                   "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject"}
    })
    .to_string();
    send(&rt, &c, &w.queue, &s3_shape);
    send(&rt, &c, &w.queue, &sns_shape);
    send(&rt, &c, &w.queue, &eventbridge_shape);
    send(&rt, &c, &w.queue, "hello, not a notification");

    let dir = tempdir("watch-same");
    let state = dir.join("state");
    let out = dir.join("findings.jsonl");
    let config = sim.join("ground-truth/trailhound.toml");
    let config = config.to_string_lossy();
    let base = ["--config", config.as_ref(), "--idle-flush", "off"];
    // Killed twice mid-stream; restarted once the queue gives the unfinished messages back (a
    // supervisor's restart delay longer than the visibility timeout, 8 s here).
    let mut kills = 0;
    for after in [2500u64, 5000] {
        let mut child = watch(&endpoint, &w, &state, &out, &base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("watch");
        std::thread::sleep(Duration::from_millis(after));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        let _ = child.wait();
        std::thread::sleep(Duration::from_secs(9));
    }
    assert_eq!(kills, 2, "the worker was killed mid-stream twice");
    let summary = dir.join("summary.json");
    let mut args = base.to_vec();
    args.extend(["--until-idle", "10s", "--summary-json"]);
    let child = watch(&endpoint, &w, &state, &out, &args)
        .arg(&summary)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    let mut child = child;
    let status = wait_ok(&mut child, Duration::from_secs(300));
    let err = stderr_of(child);
    assert!(status.success(), "watch failed: {err}");

    let remaining: Vec<PathBuf> = all.iter().filter(|f| *f != gone).cloned().collect();
    let expected = scan_with_state(sim, &remaining, &dir);
    let text = std::fs::read_to_string(&out).expect("watch output");
    let (got, statuses) = merged(&text);
    assert!(
        expected.len() >= 5,
        "the day has findings to compare: {}",
        expected.len()
    );
    let summary_text = std::fs::read_to_string(&summary).unwrap_or_default();
    let only = |a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>| -> Vec<String> {
        a.iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|(_, f)| format!("{} {}", f["type"], f["principal"]))
            .collect()
    };
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "same finding ids as scan; only in watch: {:?}; only in scan: {:?}; watch summary: {summary_text}",
        only(&got, &expected),
        only(&expected, &got)
    );
    for (id, f) in &expected {
        assert_eq!(&got[id], f, "finding {id} as scan reports it");
    }
    for (id, s) in &statuses {
        assert_eq!(s[0], "new", "{id}: {s:?}");
        assert!(
            s[1..].iter().all(|x| x == "updated"),
            "{id} reported once: {s:?}"
        );
    }
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary"))
        .expect("summary JSON");
    let watch = &s["watch"];
    // (These counters are the last run's: the earlier ones were killed.)
    assert!(
        watch["objects_skipped"]["already_read"]
            .as_u64()
            .unwrap_or(0)
            >= 3,
        "{watch}"
    );
    assert!(
        watch["objects_skipped"]["not_cloudtrail"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{watch}"
    );
    assert!(
        watch["messages_retried"]["not_a_notification"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{watch}"
    );
    assert!(
        watch["messages_retried"]["object_gone"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{watch}"
    );
    // The poison message and the deleted object's notification end in the dead-letter queue.
    let dead = drain(&rt, &c, &w.dlq);
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead.iter().any(|b| b.contains("hello")));
    // (moto encodes the key as S3 does: `/` as `%2F`.)
    assert!(
        dead.iter()
            .any(|b| b.replace("%2F", "/").contains(&key(gone))),
        "{} in {dead:?}",
        key(gone)
    );
    assert!(
        drain(&rt, &c, &w.queue).is_empty(),
        "every other message deleted"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue_15_a_theft_is_reported_seconds_after_its_file_lands_and_metrics_and_sigterm_work() {
    let Some(Setup { endpoint, rt, c, w }) = setup("ttf") else {
        return;
    };
    let dir = tempdir("watch-ttf");
    let out = dir.join("findings.jsonl");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let metrics = format!("127.0.0.1:{port}");
    let mut child = watch(
        &endpoint,
        &w,
        &dir.join("state"),
        &out,
        &["--idle-flush", "2s", "--metrics-addr", &metrics],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("watch");
    std::thread::sleep(Duration::from_secs(2));
    let (fixture, keys) = stage_theft(&dir);
    let landed = Instant::now();
    upload(&rt, &c, &w.bucket, &dir, &keys);
    let mut found = None;
    while landed.elapsed() < Duration::from_secs(60) {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        if text.contains("InstanceCredentialExfiltration.OutsideAWS") {
            found = Some(landed.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = found.expect("the theft was reported");
    eprintln!(
        "time to finding: {:.1} s (idle flush 2 s)",
        took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    // Metrics.
    // The finding is in the file before the worker's counters are updated: ask until they are.
    let get = || {
        let mut conn = std::net::TcpStream::connect(&metrics).expect("metrics");
        conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("request");
        let mut page = String::new();
        conn.read_to_string(&mut page).expect("metrics page");
        page
    };
    let asked = Instant::now();
    let mut page = get();
    while !page.contains("trailhound_findings_delivered_total{")
        && asked.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(100));
        page = get();
    }
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(
        page.contains(&format!("trailhound_objects_read_total {}\n", keys.len())),
        "{page}"
    );
    assert!(
        page.contains("trailhound_findings_delivered_total{type=\"InstanceCredentialExfiltration.OutsideAWS\"} 1\n"),
        "{page}"
    );
    assert!(
        page.contains("# TYPE trailhound_lag_seconds gauge"),
        "{page}"
    );
    assert!(
        page.contains("trailhound_test_events_total 1\n"),
        "the bucket's s3:TestEvent: {page}"
    );
    assert!(
        page.contains("# TYPE trailhound_checkpoint_age_seconds gauge"),
        "{page}"
    );
    // One process per state: a second one is refused, and says why.
    let second = trailhound()
        .args(["scan", "--no-progress", "--state"])
        .arg(dir.join("state"))
        .arg(&fixture)
        .output()
        .expect("scan");
    assert_eq!(second.status.code(), Some(2));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("in use by another trailhound process"),
        "{said}"
    );
    // SIGTERM: a clean stop.
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let status = wait_ok(&mut child, Duration::from_secs(30));
    let err = stderr_of(child);
    assert!(status.success(), "SIGTERM exits 0: {err}");
    assert!(err.contains("\"msg\":\"stop requested"), "{err}");
    let expected =
        std::fs::read_to_string(fixture.join("expected.findings.jsonl")).expect("expected");
    let want: Vec<Value> = expected
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let (got, _) = merged(&std::fs::read_to_string(&out).expect("output"));
    assert_eq!(got.len(), want.len(), "{got:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue_15_findings_wait_for_a_destination_that_is_down() {
    let Some(Setup { endpoint, rt, c, w }) = setup("sns") else {
        return;
    };
    let tag = format!("alerts-{}", std::process::id());
    let topic_arn = format!("arn:aws:sns:{REGION}:123456789012:{tag}");
    let dir = tempdir("watch-sns");
    let (_, keys) = stage_theft(&dir);
    upload(&rt, &c, &w.bucket, &dir, &keys);
    // The topic does not exist yet: every publish fails until it does.
    let mut child = watch(
        &endpoint,
        &w,
        &dir.join("state"),
        &dir.join("findings.jsonl"),
        &[
            "--idle-flush",
            "1s",
            "--sns-topic-arn",
            &topic_arn,
            "--until-idle",
            "3s",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("watch");
    // Its stderr, line by line, as it comes.
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = lines.clone();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().expect("lines").push(line);
            }
        })
    };
    // The topic comes up right after the third failed attempt: the next one is 4 s away, so
    // the subscription exists before it (a publish to a topic without one would be lost).
    let failed = || {
        lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|l| l.contains("cannot publish to SNS"))
            .count()
    };
    let waited = Instant::now();
    while failed() < 3 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no failed publish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.try_wait().expect("wait").is_none(), "still retrying");
    let alerts = rt.block_on(async {
        let arn = c
            .sns
            .create_topic()
            .name(&tag)
            .send()
            .await
            .expect("topic")
            .topic_arn
            .expect("arn");
        assert_eq!(arn, topic_arn);
        let q = plain_queue(&c, &format!("{tag}-q")).await;
        let q_arn = queue_arn(&c, &q).await;
        c.sns
            .subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(q_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("subscribe");
        q
    });
    let status = wait_ok(&mut child, Duration::from_secs(120));
    reader.join().expect("stderr reader");
    let err = lines.lock().expect("lines").join("\n");
    assert!(status.success(), "{err}");
    let published = drain(&rt, &c, &alerts);
    assert!(
        published
            .iter()
            .any(|b| b.contains("InstanceCredentialExfiltration.OutsideAWS")),
        "{published:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn issue_15_scan_reads_an_s3_prefix_as_it_reads_the_same_files_on_disk() {
    let Some(Setup { endpoint, rt, c, w }) = setup("scan") else {
        return;
    };
    let sim = day();
    // Every third file of the day, copied as they are into a directory of their own.
    let local = tempdir("watch-scan");
    let mut all = Vec::new();
    for f in common::log_files(sim).into_iter().step_by(3) {
        let to = local.join(f.strip_prefix(sim).expect("under sim"));
        std::fs::create_dir_all(to.parent().expect("parent")).expect("dir");
        std::fs::copy(&f, &to).expect("copy");
        all.push(to);
    }
    upload(&rt, &c, &w.bucket, &local, &all);
    let config = sim.join("ground-truth/trailhound.toml");
    let run = |input: &str| {
        let o = trailhound()
            .args([
                "scan",
                input,
                "--format",
                "jsonl",
                "--no-progress",
                "--endpoint-url",
                &endpoint,
            ])
            .arg("--config")
            .arg(&config)
            .output()
            .expect("scan");
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (remote, err) = run(&format!("s3://{}/AWSLogs/", w.bucket));
    let (on_disk, disk_err) = run(&local.join("AWSLogs").to_string_lossy());
    assert!(
        on_disk.lines().count() >= 3,
        "findings to compare: {on_disk}"
    );
    assert_eq!(remote, on_disk, "{err}");
    // The same events read and skipped.
    let events = |e: &str| {
        e.lines()
            .find(|l| l.starts_with("events read:"))
            .map(str::to_owned)
    };
    assert!(events(&err).is_some(), "{err}");
    assert_eq!(events(&err), events(&disk_err), "{err}\n{disk_err}");
    let _ = std::fs::remove_dir_all(&local);
}
