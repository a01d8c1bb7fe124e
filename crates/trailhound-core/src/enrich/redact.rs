//! Redaction of secrets in original record text before it is written anywhere (SPEC non-negotiable:
//! never print or store secrets). STS responses carry `credentials.sessionToken` and
//! `secretAccessKey`; some services echo passwords and tokens in `requestParameters`.
//!
//! The text is edited in place, keeping everything else byte-identical (key order, spacing): the
//! string value of every key named in [`SECRET_KEYS`] becomes `"REDACTED"`. A cheap substring test
//! skips the work for the overwhelming majority of records that carry none.
use std::borrow::Cow;

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

/// The record text with every secret value replaced by `REDACTED`.
pub fn redact(raw: &str) -> Cow<'_, str> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // Truncated text never panics.
        let _ = redact(r#"{"sessionToken":"abc"#);
        let _ = redact(r#"{"sessionToken"#);
    }
}
