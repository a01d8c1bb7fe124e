//! Redaction of secrets in original record text before it leaves the decoder (SPEC non-negotiable:
//! never print or store secrets). STS responses carry `credentials.sessionToken` and
//! `secretAccessKey`; some services echo passwords and tokens in `requestParameters`.
//!
//! The text is edited in place, keeping everything else byte-identical (key order, spacing): the
//! string value of every key named in [`SECRET_KEYS`] becomes `"REDACTED"`. Records are scanned
//! string by string only when a cheap case-insensitive search finds an [`ANCHORS`] word in them,
//! which the overwhelming majority of records do not contain.
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// Keys whose string values are secrets (compared case-insensitively).
pub const SECRET_KEYS: &[&str] = &[
    "sessionToken",
    "secretAccessKey",
    "password",
    "newPassword",
    "oldPassword",
    "privateKey",
    "clientSecret",
];

/// Endings, one of which every key in [`SECRET_KEYS`] has (lower case; the prefilter also wants
/// the key's closing quote right after): specific enough that records merely naming secrets
/// (`GetSecretValue`, `secretId`, `nextToken`, `passwordPolicy`) are not scanned string by string.
/// The quote is checked apart from the search: it is everywhere in JSON, and a searcher that keyed
/// on it would stop at every string.
pub const ANCHORS: &[&str] = &[
    "sessiontoken",
    "secretaccesskey",
    "password",
    "privatekey",
    "clientsecret",
];

/// The record text as trailhound keeps and writes it: secrets redacted, and on one line (a
/// pretty-printed record's line breaks can only be whitespace between tokens, as JSON escapes
/// them inside strings, so they become spaces). Borrowed when nothing needed changing.
pub fn record_text(raw: &str) -> Cow<'_, str> {
    let text = redact(raw);
    if memchr::memchr2(b'\n', b'\r', text.as_bytes()).is_some() {
        Cow::Owned(text.replace(['\n', '\r'], " "))
    } else {
        text
    }
}

/// The record text with every secret value replaced by `REDACTED`.
pub fn redact(raw: &str) -> Cow<'_, str> {
    if !may_hold_secret(raw.as_bytes()) {
        return Cow::Borrowed(raw);
    }
    // One pass over the JSON strings; nothing is copied unless a secret is found.
    let b = raw.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while let Some(q) = memchr::memchr(b'"', &b[i..]) {
        let start = i + q;
        let end = string_end(b, start);
        let key = &b[start + 1..end.saturating_sub(1).max(start + 1)];
        i = end;
        if !(8..=15).contains(&key.len()) || !is_secret_key(key) {
            continue;
        }
        let mut j = end;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= b.len() || b[j] != b':' {
            continue;
        }
        j += 1;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if j < b.len() && b[j] == b'"' {
            let vend = string_end(b, j);
            let o = out.get_or_insert_with(|| String::with_capacity(raw.len()));
            o.push_str(&raw[copied..j]);
            o.push_str("\"REDACTED\"");
            copied = vend;
            i = vend;
        }
    }
    match out {
        None => Cow::Borrowed(raw),
        Some(mut o) => {
            o.push_str(&raw[copied..]);
            Cow::Owned(o)
        }
    }
}

fn is_secret_key(key: &[u8]) -> bool {
    SECRET_KEYS
        .iter()
        .any(|k| k.len() == key.len() && k.as_bytes().eq_ignore_ascii_case(key))
}

/// The index just past the closing quote of the JSON string opening at `start`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(k) = b
        .get(i..)
        .and_then(|rest| memchr::memchr2(b'\\', b'"', rest))
    {
        i += k;
        if b[i] == b'"' {
            return i + 1;
        }
        i += 2;
    }
    b.len()
}

/// False when no [`ANCHORS`] ending, followed by a quote, occurs in `text`, in any case: then it
/// holds no secret key.
/// The text is lower-cased into a buffer this thread reuses.
fn may_hold_secret(text: &[u8]) -> bool {
    static FINDERS: LazyLock<Vec<Finder<'static>>> =
        LazyLock::new(|| ANCHORS.iter().map(Finder::new).collect());
    thread_local! {
        static FOLDED: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    }
    let mut folded = FOLDED.take();
    folded.clear();
    folded.extend(text.iter().map(u8::to_ascii_lowercase));
    let found = FINDERS.iter().any(|f| {
        f.find_iter(&folded)
            .any(|at| folded.get(at + f.needle().len()) == Some(&b'"'))
    });
    if folded.capacity() <= 1 << 20 {
        FOLDED.set(folded);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_key_holds_an_anchor() {
        for key in SECRET_KEYS {
            let lower = key.to_ascii_lowercase();
            assert!(
                ANCHORS.iter().any(|a| lower.ends_with(a)),
                "{key} would escape the prefilter"
            );
        }
        // Records that only name secrets are not scanned string by string.
        for text in [
            r#"{"eventName":"GetSecretValue","requestParameters":{"secretId":"prod/db"}}"#,
            r#"{"requestParameters":{"nextToken":"abc","maxResults":50}}"#,
            r#"{"eventName":"GetAccountPasswordPolicy","requestParameters":{"passwordPolicy":1}}"#,
        ] {
            assert!(!may_hold_secret(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn record_text_is_one_line_and_redacted() {
        let pretty = "{\n  \"eventName\": \"GetSessionToken\",\r\n  \"sessionToken\": \"IQoJ\"\n}";
        assert_eq!(
            &*record_text(pretty),
            "{   \"eventName\": \"GetSessionToken\",    \"sessionToken\": \"REDACTED\" }"
        );
    }

    #[test]
    fn secrets_go_everything_else_stays() {
        let raw = r#"{"eventName":"AssumeRole","responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE","sessionToken":"IQoJb3Jp\"gin==","expiration":"Jul 10, 2023, 6:30:22 PM"}},"x": "sessionToken"}"#;
        let got = redact(raw);
        assert_eq!(
            got,
            r#"{"eventName":"AssumeRole","responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE","sessionToken":"REDACTED","expiration":"Jul 10, 2023, 6:30:22 PM"}},"x": "sessionToken"}"#
        );
        let spaced = r#"{ "SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG" , "a":1}"#;
        assert_eq!(
            redact(spaced),
            r#"{ "SecretAccessKey" : "REDACTED" , "a":1}"#
        );
        let plain = r#"{"eventName":"DescribeInstances"}"#;
        assert!(matches!(redact(plain), Cow::Borrowed(_)));
        // Any case, and after a long field.
        let upper = r#"{"SESSIONTOKEN":"abc"}"#;
        assert_eq!(redact(upper), r#"{"SESSIONTOKEN":"REDACTED"}"#);
        let raw = format!(r#"{{"a":"{}","clientSecret":"s3cr3t"}}"#, "x".repeat(5000));
        assert!(!redact(&raw).contains("s3cr3t"));
        // Truncated text never panics.
        let _ = redact(r#"{"sessionToken":"abc"#);
        let _ = redact(r#"{"sessionToken"#);
    }
}
