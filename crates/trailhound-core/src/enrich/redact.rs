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
    let lower_hit = |needle: &str| {
        raw.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if !SECRET_KEYS.iter().any(|k| lower_hit(k)) {
        return Cow::Borrowed(raw);
    }
    let b = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        // A JSON string starts at i: find its end.
        let end = string_end(b, i);
        let key = &raw[i + 1..end.saturating_sub(1).max(i + 1)];
        let mut j = end;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        let is_secret_key =
            j < b.len() && b[j] == b':' && SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key));
        if is_secret_key {
            j += 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < b.len() && b[j] == b'"' {
                let vend = string_end(b, j);
                out.push_str(&raw[copied..j]);
                out.push_str("\"REDACTED\"");
                copied = vend;
                i = vend;
                continue;
            }
        }
        i = end;
    }
    out.push_str(&raw[copied..]);
    Cow::Owned(out)
}

/// The index just past the closing quote of the JSON string opening at `start`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
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
