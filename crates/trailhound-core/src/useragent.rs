//! User agents: parse a CloudTrail `userAgent` once into client family, major version, OS, attack tool
//! and raw HTTP client (SPEC §2.3).
//!
//! Invariants: [`UserAgent::parse`] runs on every event, so it never allocates and never panics; it
//! lower-cases at most [`SCAN_LIMIT`] bytes into a stack buffer and matches substrings there. The attack
//! tool and raw HTTP client tables are embedded data files (`data/useragent-attack-tools.tsv`,
//! `data/useragent-raw-http.tsv`, provenance in `data/README.md`), parsed once into a
//! process-wide table that borrows from the embedded text.
//!
//! Shapes recognised (all seen in real CloudTrail; see the tests):
//! - SDKs and CLIs: `aws-cli/2.2.23 Python/3.8.8 Linux/4.14…`, `Boto3/1.18.1 … Botocore/1.21.1`,
//!   `aws-sdk-go/1.41.4 (go1.18.3; linux; amd64) amazon-ssm-agent/`, `aws-sdk-go-v2/1.17.0 os/linux …`,
//!   `aws-sdk-java/1.11.1030 Linux/…`, the newer `ua/2.0 os/linux#…` metadata style; the first SDK token
//!   wins (`aws-cli/1.x … botocore/1.x` is the CLI).
//! - Infrastructure as code: Terraform (`… Terraform/1.1.2 … terraform-provider-aws/…`), Pulumi.
//! - AWS itself: a bare service host (`ec2.amazonaws.com`), `AWS Internal`, `aws-internal/3 …`,
//!   `Coral/Jakarta`, and `Apache-HttpClient/UNAVAILABLE (Java/…)`, which AWS console back ends send
//!   (seen for a root user browsing the console in the invictus dataset) and so is not a raw client.
//! - The console: `console.amazonaws.com`, `console.ec2.amazonaws.com`, `signin.amazonaws.com`,
//!   `[S3Console/0.4, aws-internal/3 …]`, `EC2ConsoleFrontend, aws-internal/3 …`, `AWS CloudWatch Console`.
//! - S3 data events wrap the agent in brackets (`[aws-cli/2.2.23 …]`); they are stripped first.
mod cache;
mod tables;

pub use cache::AgentCache;
pub use tables::{attack_tools, raw_http_clients, AttackTool, RawHttpClient, ToolKind};

/// How many leading bytes of a user agent are examined; longer agents are truncated (real ones are
/// under 400 bytes; CloudTrail itself truncates them).
pub const SCAN_LIMIT: usize = 1024;

/// What kind of client a user agent names.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Family {
    /// The AWS CLI (`aws-cli/…`).
    AwsCli,
    /// The Python SDK (`Boto3/…`).
    Boto3,
    /// botocore used directly (`Botocore/…`).
    Botocore,
    /// AWS SDK for Go v1 (`aws-sdk-go/…`).
    AwsSdkGo,
    /// AWS SDK for Go v2 (`aws-sdk-go-v2/…`).
    AwsSdkGoV2,
    /// AWS SDK for Java 1.x.
    AwsSdkJava,
    /// AWS SDK for Java 2.x.
    AwsSdkJavaV2,
    /// AWS SDK for JavaScript v2 (`aws-sdk-js/2…`, `aws-sdk-nodejs/2…`).
    AwsSdkJs,
    /// AWS SDK for JavaScript v3.
    AwsSdkJsV3,
    /// AWS SDK for .NET (and AWS Tools for PowerShell, which is built on it).
    AwsSdkDotnet,
    /// AWS SDK for Ruby.
    AwsSdkRuby,
    /// AWS SDK for PHP.
    AwsSdkPhp,
    /// AWS SDK for Rust.
    AwsSdkRust,
    /// AWS SDK for C++.
    AwsSdkCpp,
    /// HashiCorp Terraform (AWS provider).
    Terraform,
    /// Pulumi.
    Pulumi,
    /// CloudFormation acting for a stack (`cloudformation.amazonaws.com`).
    CloudFormation,
    /// The AWS Management Console and sign-in.
    Console,
    /// Another AWS service acting on the principal's behalf (`<service>.amazonaws.com`).
    AwsService,
    /// AWS-internal callers (`AWS Internal`, `aws-internal/…`, `Coral/…`).
    AwsInternal,
    /// A web browser (`Mozilla/5.0 …`).
    Browser,
    /// A raw HTTP client (curl, python-requests, Go-http-client, …); see `raw_http_client`.
    RawHttp,
    /// No user agent at all.
    Empty,
    /// Anything else.
    Other,
}

impl Family {
    /// A stable lower-case name, e.g. `"aws-cli"`, `"boto3"`, `"aws-sdk-go-v2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::AwsCli => "aws-cli",
            Family::Boto3 => "boto3",
            Family::Botocore => "botocore",
            Family::AwsSdkGo => "aws-sdk-go",
            Family::AwsSdkGoV2 => "aws-sdk-go-v2",
            Family::AwsSdkJava => "aws-sdk-java",
            Family::AwsSdkJavaV2 => "aws-sdk-java-v2",
            Family::AwsSdkJs => "aws-sdk-js",
            Family::AwsSdkJsV3 => "aws-sdk-js-v3",
            Family::AwsSdkDotnet => "aws-sdk-dotnet",
            Family::AwsSdkRuby => "aws-sdk-ruby",
            Family::AwsSdkPhp => "aws-sdk-php",
            Family::AwsSdkRust => "aws-sdk-rust",
            Family::AwsSdkCpp => "aws-sdk-cpp",
            Family::Terraform => "terraform",
            Family::Pulumi => "pulumi",
            Family::CloudFormation => "cloudformation",
            Family::Console => "console",
            Family::AwsService => "aws-service",
            Family::AwsInternal => "aws-internal",
            Family::Browser => "browser",
            Family::RawHttp => "raw-http",
            Family::Empty => "empty",
            Family::Other => "other",
        }
    }
}

/// The operating system a user agent reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Os {
    /// Linux (servers, containers, Lambda, Linux desktops).
    Linux,
    /// Windows (desktops and Windows Server).
    Windows,
    /// macOS (`Darwin/…`, `os/macos#…`, `Macintosh`).
    MacOs,
    /// Another named OS.
    Other,
}

impl Os {
    /// A stable lower-case name: `"linux"`, `"windows"`, `"macos"`, `"other"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "linux",
            Os::Windows => "windows",
            Os::MacOs => "macos",
            Os::Other => "other",
        }
    }
}

/// A parsed user agent (no allocation; borrows nothing beyond `'static` tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserAgent {
    /// The client family.
    pub family: Family,
    /// The family's major version (`aws-cli/2.…` → 2; Terraform core for Terraform), when stated.
    pub major: Option<u16>,
    /// The operating system, when stated.
    pub os: Option<Os>,
    /// The attack tool or pentest distribution named in the agent (`"Stratus Red Team"`, `"Kali Linux"`).
    pub attack_tool: Option<&'static str>,
    /// What kind of tool `attack_tool` is.
    pub attack_kind: Option<ToolKind>,
    /// The raw HTTP client when `family` is [`Family::RawHttp`] (`"curl"`, `"python-requests"`).
    pub raw_http_client: Option<&'static str>,
}

/// SDK tokens (lower case); the earliest one in the agent decides the family.
const SDK_TOKENS: &[(&str, Family)] = &[
    ("aws-cli/", Family::AwsCli),
    ("boto3/", Family::Boto3),
    ("botocore/", Family::Botocore),
    ("aws-sdk-go-v2/", Family::AwsSdkGoV2),
    ("aws-sdk-go/", Family::AwsSdkGo),
    ("aws-sdk-java/", Family::AwsSdkJava),
    ("aws-sdk-nodejs-v3", Family::AwsSdkJsV3),
    ("aws-sdk-nodejs", Family::AwsSdkJs),
    ("aws-sdk-js", Family::AwsSdkJs),
    ("aws-sdk-dotnet", Family::AwsSdkDotnet),
    ("aws-sdk-ruby", Family::AwsSdkRuby),
    ("aws-sdk-php/", Family::AwsSdkPhp),
    ("aws-sdk-rust/", Family::AwsSdkRust),
    ("aws-sdk-cpp/", Family::AwsSdkCpp),
];

impl UserAgent {
    /// Parse a CloudTrail `userAgent` (missing agents are passed as `""`).
    pub fn parse(ua: &str) -> UserAgent {
        let mut ua = ua.trim();
        if let Some(inner) = ua.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            ua = inner.trim();
        }
        let mut out = UserAgent {
            family: Family::Other,
            major: None,
            os: None,
            attack_tool: None,
            attack_kind: None,
            raw_http_client: None,
        };
        if ua.is_empty() {
            out.family = Family::Empty;
            return out;
        }
        if ua.eq_ignore_ascii_case("AWS Internal") {
            out.family = Family::AwsInternal;
            return out;
        }
        let mut buf = [0u8; SCAN_LIMIT];
        let lower = lower_into(ua, &mut buf);
        // A bare host: a service (or the console) calling on the principal's behalf.
        if !lower.contains(' ') && lower.ends_with(".amazonaws.com") {
            out.family = if lower.starts_with("console.") || lower == "signin.amazonaws.com" {
                Family::Console
            } else if lower == "cloudformation.amazonaws.com" {
                Family::CloudFormation
            } else {
                Family::AwsService
            };
            return out;
        }
        out.family = family_of(lower, &mut out.major);
        out.os = os_of(lower);
        if let Some(t) = attack_tools().iter().find(|t| lower.contains(t.pattern)) {
            out.attack_tool = Some(t.tool);
            out.attack_kind = Some(t.kind);
        }
        if out.family == Family::Other {
            if let Some(c) = raw_http_clients()
                .iter()
                .find(|c| lower.contains(c.pattern))
            {
                out.family = Family::RawHttp;
                out.raw_http_client = Some(c.client);
            }
        }
        out
    }

    /// The family's stable name, e.g. `"aws-cli"`, `"boto3"`, `"aws-sdk-go-v2"`.
    pub fn family_name(&self) -> &'static str {
        self.family.as_str()
    }

    /// An AWS service or AWS-internal caller (`ec2.amazonaws.com`, `AWS Internal`, `aws-internal/3 …`,
    /// CloudFormation acting for a stack), as opposed to a person or a workload.
    pub fn is_aws_service(&self) -> bool {
        matches!(
            self.family,
            Family::AwsService | Family::AwsInternal | Family::CloudFormation
        )
    }

    /// The AWS Management Console or sign-in (`console.amazonaws.com`, `[S3Console/0.4, …]`, …).
    pub fn is_console(&self) -> bool {
        self.family == Family::Console
    }

    /// A person's machine: a browser, or an agent reporting macOS (`Darwin/…`, `os/macos#…`).
    ///
    /// Windows is deliberately *not* desktop: botocore reports `platform.release()`, which is `10` on
    /// Windows Server 2016 and later, so EC2 Windows instances send `Windows/10` exactly like a laptop;
    /// treating it as desktop would make every Windows instance role look stolen. Linux is not desktop
    /// either (servers, containers and Lambda). No EC2 workload runs macOS outside mac1/mac2 instances.
    pub fn is_desktop(&self) -> bool {
        self.family == Family::Browser || self.os == Some(Os::MacOs)
    }

    /// What a role's workloads are learned by (SPEC §2.3): SDK family and major version.
    pub fn family_key(&self) -> (Family, Option<u16>) {
        (self.family, self.major)
    }
}

/// Copy at most [`SCAN_LIMIT`] bytes of `s` (cut at a character boundary) into `buf`, ASCII-lower-cased.
fn lower_into<'b>(s: &str, buf: &'b mut [u8; SCAN_LIMIT]) -> &'b str {
    let mut end = s.len().min(SCAN_LIMIT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let dst = &mut buf[..end];
    dst.copy_from_slice(&s.as_bytes()[..end]);
    dst.make_ascii_lowercase();
    // ASCII lower-casing keeps UTF-8 valid, so this never falls back.
    std::str::from_utf8(dst).unwrap_or("")
}

fn family_of(lower: &str, major: &mut Option<u16>) -> Family {
    // Console back ends: "<frontend>, aws-internal/3 …" (S3Console, EC2ConsoleFrontend, RDS Console,
    // AWSCloudTrail's trail wizard), or a bare name such as "AWS CloudWatch Console".
    if !lower.contains('/') && lower.contains("console") {
        return Family::Console;
    }
    if lower.starts_with("coral/") || lower.starts_with("apache-httpclient/unavailable") {
        return Family::AwsInternal;
    }
    if let Some(i) = lower.find("terraform/") {
        *major = version_major(&lower[i + "terraform/".len()..]);
        return Family::Terraform;
    }
    if lower.contains("terraform-provider-aws") {
        return Family::Terraform;
    }
    if let Some(i) = lower.find("pulumi") {
        *major = lower[i..]
            .find('/')
            .and_then(|j| version_major(&lower[i + j + 1..]));
        return Family::Pulumi;
    }
    // SDK tokens all start with "aws-" or "boto": visit those occurrences only (a handful per agent)
    // instead of searching for every token; the earliest SDK token wins.
    let anchors = lower
        .match_indices("aws-")
        .chain(lower.match_indices("boto"));
    let mut earliest: Option<(usize, &str, Family)> = None;
    for (i, _) in anchors {
        if earliest.is_some_and(|(j, _, _)| j < i) {
            continue;
        }
        let at = &lower[i..];
        if at.starts_with("aws-internal/") {
            if i == 0 {
                return Family::AwsInternal;
            }
            if lower[..i].ends_with(", ") {
                return Family::Console;
            }
        }
        if let Some(&(tok, fam)) = SDK_TOKENS.iter().find(|(tok, _)| at.starts_with(tok)) {
            earliest = Some((i, tok, fam));
        }
    }
    if let Some((i, tok, fam)) = earliest {
        *major = version_major(&lower[i + tok.len()..]);
        return match (fam, *major) {
            (Family::AwsSdkJava, Some(m)) if m >= 2 => Family::AwsSdkJavaV2,
            (Family::AwsSdkJs, Some(m)) if m >= 3 => Family::AwsSdkJsV3,
            _ => fam,
        };
    }
    if lower.starts_with("mozilla/") {
        return Family::Browser;
    }
    Family::Other
}

/// The major version at the start of `rest`; if `rest` continues the token (`ruby3/3.1`, `-coreclr/3.7`),
/// the version after the token's next `/`.
fn version_major(rest: &str) -> Option<u16> {
    let rest = if rest.starts_with(|c: char| c.is_ascii_digit()) {
        rest
    } else {
        let token_end = rest.find([' ', ';', ')']).unwrap_or(rest.len());
        &rest[rest[..token_end].find('/')? + 1..]
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

fn os_of(lower: &str) -> Option<Os> {
    const MAC: &[&str] = &["macos", "mac_os_x", "mac os x", "macintosh"];
    let mac = || {
        lower
            .match_indices("mac")
            .any(|(i, _)| MAC.iter().any(|m| lower[i..].starts_with(m)))
    };
    if lower.contains("linux") && !lower.contains("darwin") {
        // The common case first (an agent naming both is a Mac build of a Linux tool: say macOS).
        Some(Os::Linux)
    } else if lower.contains("darwin") || mac() {
        Some(Os::MacOs)
    } else if lower.contains("windows") {
        Some(Os::Windows)
    } else if lower.contains("freebsd") || lower.contains("os/other") {
        Some(Os::Other)
    } else {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests;
