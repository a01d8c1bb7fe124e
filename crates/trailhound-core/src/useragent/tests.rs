//! Tests for `useragent`: real agents from the public datasets (`/work/shared/datasets`), agents quoted
//! by the sources cited in `data/useragent-attack-tools.tsv`, and a sweep over every distinct agent.
use super::tables::{rows, ATTACK_TOOLS_TSV, RAW_HTTP_TSV};
use super::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

type Row = (
    &'static str,
    Family,
    Option<u16>,
    Option<Os>,
    Option<&'static str>,
    Option<&'static str>,
);

#[rustfmt::skip]
const CASES: &[Row] = &[
    // invictus-ir/aws_dataset and sans504-s3-ransomware (verbatim)
    ("aws-sdk-go/1.41.4 (go1.18.3; linux; amd64) amazon-ssm-agent/", Family::AwsSdkGo, Some(1), Some(Os::Linux), None, None),
    ("aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10 md/GOOS/linux md/GOARCH/amd64 api/sts/1.16.19", Family::AwsSdkGoV2, Some(1), Some(Os::Linux), None, None),
    ("aws-cli/2.2.23 Python/3.8.8 Linux/4.14.238-182.422.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/iam.list-users", Family::AwsCli, Some(2), Some(Os::Linux), None, None),
    ("[aws-cli/2.2.16 Python/3.8.8 Darwin/20.5.0 exe/x86_64 prompt/off command/s3.sync]", Family::AwsCli, Some(2), Some(Os::MacOs), None, None),
    ("Boto3/1.18.1 Python/3.9.5 Linux/4.14.238-182.422.amzn2.x86_64 Botocore/1.21.1", Family::Boto3, Some(1), Some(Os::Linux), None, None),
    ("[Boto3/1.26.165 Python/3.10.6 Linux/5.19.0-46-generic Botocore/1.29.165]", Family::Boto3, Some(1), Some(Os::Linux), None, None),
    ("APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.76.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.157 (go1.19.3; linux; amd64) HashiCorp-terraform-exec/0.17.3", Family::Terraform, Some(1), Some(Os::Linux), None, None),
    ("APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/3.76.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.157 (go1.19.3; linux; amd64) stratus-red-team_11a6ef34-e130-4579-a1d3-79c915cee6ec HashiCorp-terraform-exec/0.17.3", Family::Terraform, Some(1), Some(Os::Linux), Some("Stratus Red Team"), None),
    ("stratus-red-team_39f95f43-cd2f-4beb-b69e-be60b6fe1f57", Family::Other, None, None, Some("Stratus Red Team"), None),
    ("[stratus-red-team_4990da05-9399-449e-b49f-82996a764ec9]", Family::Other, None, None, Some("Stratus Red Team"), None),
    ("cloudtrail.amazonaws.com", Family::AwsService, None, None, None, None),
    ("ec2.amazonaws.com", Family::AwsService, None, None, None, None),
    ("AWS Internal", Family::AwsInternal, None, None, None, None),
    ("aws-internal/3 cfg/retry-mode/legacy", Family::AwsInternal, None, None, None, None),
    ("Coral/Jakarta", Family::AwsInternal, None, None, None, None),
    ("Apache-HttpClient/UNAVAILABLE (Java/1.8.0_252)", Family::AwsInternal, None, None, None, None),
    ("console.ec2.amazonaws.com", Family::Console, None, None, None, None),
    ("console.amazonaws.com", Family::Console, None, None, None, None),
    ("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.184-153.731.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]", Family::Console, None, Some(Os::Linux), None, None),
    ("EC2ConsoleFrontend, aws-internal/3 aws-sdk-java/1.11.1030 Linux/5.4.122-66.218.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.292-b10 java/1.8.0_292 vendor/Oracle_Corporation cfg/retry-mode/legacy", Family::Console, None, Some(Os::Linux), None, None),
    ("AWS CloudWatch Console", Family::Console, None, None, None, None),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.107 Safari/537.36", Family::Browser, None, Some(Os::MacOs), None, None),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:102.0) Gecko/20100101 Firefox/102.0", Family::Browser, None, Some(Os::Linux), None, None),
    ("", Family::Empty, None, None, None, None),
    // Pentest distributions and scanners, as quoted by the sources in useragent-attack-tools.tsv
    ("aws-cli/2.31.35 md/awscrt#1.0.0.dev0 ua/2.1 os/linux#6.12.38+kali-amd64 md/arch#x86_64 lang/python#3.13.7 md/pyimpl#CPython m/E,N,b,Z,n cfg/retry-mode#standard md/installer#source md/distrib#kali.2025 md/prompt#off md/command#lambda.get-function", Family::AwsCli, Some(2), Some(Os::Linux), Some("Kali Linux"), None),
    ("aws-cli/1.18.69 Python/3.8.5 Linux/5.7.0-kali1-amd64 botocore/1.17.44", Family::AwsCli, Some(1), Some(Os::Linux), Some("Kali Linux"), None),
    ("Boto3/1.26.45 Python/3.9.2 Linux/6.0.0-2parrot1-amd64 Botocore/1.29.45", Family::Boto3, Some(1), Some(Os::Linux), Some("Parrot OS"), None),
    ("Scout Suite/5.12.0 Python/3.9.2 Linux/6.0.0-2parrot1-amd64 Scout Suite/5.12.0", Family::Other, None, Some(Os::Linux), Some("ScoutSuite"), None),
    ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.4 md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.34.0 APN_1826889", Family::Boto3, Some(1), Some(Os::Linux), Some("Prowler"), None),
    ("Boto3/1.9.0 Python/3.7.0 Linux/4.19.0-pentoo Botocore/1.12.0", Family::Boto3, Some(1), Some(Os::Linux), Some("Pentoo"), None),
    // Other SDKs, raw clients, Windows (documented default agents)
    ("aws-sdk-java/2.20.43 Linux/5.10.178 OpenJDK_64-Bit_Server_VM/17.0.7+7-LTS Java/17.0.7 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy", Family::AwsSdkJavaV2, Some(2), Some(Os::Linux), None, None),
    ("aws-sdk-js/3.363.0 os/linux#5.10.184 lang/js md/nodejs#18.16.1 api/s3#3.363.0", Family::AwsSdkJsV3, Some(3), Some(Os::Linux), None, None),
    ("aws-sdk-nodejs/2.1400.0 linux/v18.16.0 exec-env/AWS_Lambda_nodejs18.x", Family::AwsSdkJs, Some(2), Some(Os::Linux), None, None),
    ("aws-sdk-dotnet-coreclr/3.7.100.0 aws-sdk-dotnet-core/3.7.100.0 .NET_Core/6.0 OS/Microsoft_Windows_10.0.20348 ClientAsync", Family::AwsSdkDotnet, Some(3), Some(Os::Windows), None, None),
    ("aws-sdk-ruby3/3.130.0 ruby/2.7.6 x86_64-linux aws-sdk-s3/1.119.0", Family::AwsSdkRuby, Some(3), Some(Os::Linux), None, None),
    ("Boto3/1.26.0 Python/3.10.8 Windows/10 exe/AMD64 Botocore/1.29.0", Family::Boto3, Some(1), Some(Os::Windows), None, None),
    ("curl/7.88.1", Family::RawHttp, None, None, None, Some("curl")),
    ("python-requests/2.31.0", Family::RawHttp, None, None, None, Some("python-requests")),
    ("Go-http-client/1.1", Family::RawHttp, None, None, None, Some("Go-http-client")),
    ("PostmanRuntime/7.32.3", Family::RawHttp, None, None, None, Some("PostmanRuntime")),
];

#[test]
fn parses_real_agents() {
    for &(ua, family, major, os, tool, raw) in CASES {
        let got = UserAgent::parse(ua);
        assert_eq!(
            (
                got.family,
                got.major,
                got.os,
                got.attack_tool,
                got.raw_http_client
            ),
            (family, major, os, tool, raw),
            "{ua}"
        );
    }
}

#[test]
fn predicates() {
    let ua = |s| UserAgent::parse(s);
    assert!(ua("ec2.amazonaws.com").is_aws_service());
    assert!(ua("AWS Internal").is_aws_service());
    assert!(ua("[aws-internal/3 cfg/retry-mode/legacy]").is_aws_service());
    assert!(!ua("console.amazonaws.com").is_aws_service());
    assert!(ua("signin.amazonaws.com").is_console());
    assert!(ua("[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488]").is_console());
    assert!(ua("aws-cli/2.2.16 Python/3.8.8 Darwin/20.5.0 exe/x86_64").is_desktop());
    assert!(ua("Mozilla/5.0 (X11; Linux x86_64) Firefox/102.0").is_desktop());
    // Windows Server 2016+ reports Windows/10 through botocore: not a desktop signal.
    assert!(!ua("Boto3/1.26.0 Python/3.10.8 Windows/10 exe/AMD64 Botocore/1.29.0").is_desktop());
    assert!(!ua("aws-sdk-go/1.41.4 (go1.18.3; linux; amd64) amazon-ssm-agent/").is_desktop());
    let go = ua("aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10");
    assert_eq!(
        (go.family_name(), go.family_key()),
        ("aws-sdk-go-v2", (Family::AwsSdkGoV2, Some(1)))
    );
    let stratus = ua("stratus-red-team_39f95f43-cd2f-4beb-b69e-be60b6fe1f57");
    assert_eq!(stratus.attack_kind, Some(ToolKind::Simulation));
    assert_eq!(
        ua("aws-cli/1.18.69 Python/3.8.5 Linux/5.7.0-kali1-amd64 botocore/1.17.44").attack_kind,
        Some(ToolKind::PentestOs)
    );
}

#[test]
fn hostile_input_does_not_panic() {
    let long = "é".repeat(SCAN_LIMIT);
    for s in [
        "[",
        "]",
        "[]",
        " [ ] ",
        "aws-cli/",
        "aws-cli/99999999999",
        "aws-sdk-ruby",
        "terraform/",
        "pulumi",
        &long,
    ] {
        let _ = UserAgent::parse(s);
    }
    assert_eq!(UserAgent::parse("aws-cli/70000.1").major, None);
}

#[test]
fn data_files_parse_and_are_lower_case() {
    assert_eq!(
        attack_tools().len(),
        rows(ATTACK_TOOLS_TSV).count(),
        "a malformed attack-tool row"
    );
    assert_eq!(
        raw_http_clients().len(),
        rows(RAW_HTTP_TSV).count(),
        "a malformed raw-HTTP row"
    );
    assert!(attack_tools().len() >= 8 && raw_http_clients().len() >= 10);
    for p in attack_tools()
        .iter()
        .map(|t| t.pattern)
        .chain(raw_http_clients().iter().map(|c| c.pattern))
    {
        assert!(
            !p.is_empty() && p == p.to_ascii_lowercase(),
            "pattern {p:?} must be lower case"
        );
    }
}

/// The datasets root, or `None` (with a message) when the shared datasets are absent.
pub(crate) fn datasets_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets");
    if root.is_dir() {
        Some(root)
    } else {
        eprintln!(
            "skipped: {} not found (public datasets absent)",
            root.display()
        );
        None
    }
}

/// Call `f` on every CloudTrail record of every `.json` / `.json.gz` file under `root`.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // test-only reader of fixed public files
pub(crate) fn for_each_record(root: &Path, f: &mut dyn FnMut(&serde_json::Value)) {
    use std::io::Read;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dataset dir") {
            let path = entry.expect("dir entry").path();
            let name = path.to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if !(name.ends_with(".json") || name.ends_with(".json.gz")) {
                continue;
            }
            let mut bytes = std::fs::read(&path).expect("read dataset file");
            if bytes.starts_with(&[0x1f, 0x8b]) {
                let mut out = Vec::new();
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut out)
                    .expect("gunzip");
                bytes = out;
            }
            let doc: serde_json::Value = serde_json::from_slice(&bytes).expect("dataset JSON");
            for record in doc
                .get("Records")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
            {
                f(record);
            }
        }
    }
}

#[test]
fn every_dataset_agent() {
    let Some(root) = datasets_root() else { return };
    let mut agents = BTreeSet::new();
    for_each_record(&root, &mut |r| {
        agents.insert(
            r.get("userAgent")
                .and_then(|u| u.as_str())
                .unwrap_or("")
                .to_owned(),
        );
    });
    assert!(
        agents.len() > 100,
        "expected the datasets' ~185 distinct agents, got {}",
        agents.len()
    );
    let mut tools = BTreeSet::new();
    for a in &agents {
        let ua = UserAgent::parse(a);
        if ua.is_aws_service() || ua.is_console() {
            assert_eq!(
                ua.attack_tool, None,
                "service/console agent classified as a tool: {a}"
            );
        }
        if let Some(t) = ua.attack_tool {
            // The only tool in these datasets is Stratus Red Team (invictus detonations).
            assert!(
                a.contains("stratus-red-team_"),
                "unexpected tool {t} in {a}"
            );
            tools.insert(t);
        } else {
            assert!(!a.contains("stratus-red-team_"), "missed Stratus in {a}");
        }
        assert_ne!(
            ua.family,
            Family::RawHttp,
            "no raw HTTP clients in these datasets: {a}"
        );
    }
    assert_eq!(tools.into_iter().collect::<Vec<_>>(), ["Stratus Red Team"]);
}
