//! Skip messages are safe to print and store: they quote the bad value (STYLE), but never a secret
//! and never much of it — even when the quote comes from serde_json, whose type errors echo the
//! input (`invalid type: string "IQoJb3Jp…", expected struct …`).
//!
//! The rule, applied to every skip message the decoder emits ([`safe_message`]):
//! 1. **Redact secret-looking runs.** Every run of 20 or more characters of the base64 alphabet
//!    (`A–Z a–z 0–9 + / =`) that is not made only of upper-case letters and digits becomes
//!    `<redacted>`. Secret access keys (40 such characters) and session tokens (hundreds) always
//!    qualify; access key ids (`AKIA…`/`ASIA…`: 20 upper-case letters and digits), account ids,
//!    times, UUIDs and ARNs (broken up by `-`, `:`, `.`) stay readable.
//! 2. **Shorten quotes.** Every quoted string (`"…"`, as Rust's `{:?}` and JSON write them) keeps its
//!    first [`QUOTE_CHARS`] characters, then `…`.
//! 3. **Cap the message** at [`MAX_MESSAGE`] bytes.
//!
//! Redaction runs before shortening, so a secret cut in half by rule 2 was already gone.

/// Characters of a quoted value kept in a message.
pub const QUOTE_CHARS: usize = 40;
/// The longest message, in bytes.
pub const MAX_MESSAGE: usize = 400;
/// The shortest base64 run that is redacted.
const MIN_SECRET_RUN: usize = 20;

/// `message` made safe to print: secret-looking runs redacted, quotes shortened, length capped.
pub fn safe_message(message: &str) -> String {
    let redacted = redact_runs(message);
    let short = shorten_quotes(&redacted);
    cap(short)
}

fn is_b64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

fn redact_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4 * MAX_MESSAGE));
    let mut run_start: Option<usize> = None;
    let flush = |out: &mut String, run: &str| {
        let only_upper_digits = run
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if run.len() >= MIN_SECRET_RUN && !only_upper_digits {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
    };
    for (i, c) in s.char_indices() {
        if is_b64(c) {
            run_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = run_start.take() {
            flush(&mut out, &s[start..i]);
        }
        out.push(c);
    }
    if let Some(start) = run_start {
        flush(&mut out, &s[start..]);
    }
    out
}

fn shorten_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4 * MAX_MESSAGE));
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        // Inside a quote until an unescaped `"`.
        let mut kept = 0usize;
        let mut escaped = false;
        let mut cut = false;
        for c in chars.by_ref() {
            let closing = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            if closing {
                if cut {
                    out.push('…');
                }
                out.push('"');
                break;
            }
            if kept < QUOTE_CHARS {
                out.push(c);
                kept += 1;
            } else {
                cut = true;
            }
        }
    }
    out
}

fn cap(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_ids_and_times_kept() {
        for (input, want) in [
            (
                r#"invalid type: string "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD", expected struct RawIdentity at line 1 column 119"#,
                r#"invalid type: string "<redacted>", expected struct RawIdentity at line 1 column 119"#,
            ),
            (
                r#"eventTime "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY" is not an RFC 3339 time"#,
                r#"eventTime "<redacted>" is not an RFC 3339 time"#,
            ),
            (
                r#"eventTime "1688990242" is not an RFC 3339 time"#,
                r#"eventTime "1688990242" is not an RFC 3339 time"#,
            ),
            (
                r#"key ASIATFQR7NSC36DZQP7P of 123456789012 at "2023-07-10T11:57:22Z" id "bf68f8c0-590b-4740-ac89-aad0ed5dfe4f""#,
                r#"key ASIATFQR7NSC36DZQP7P of 123456789012 at "2023-07-10T11:57:22Z" id "bf68f8c0-590b-4740-ac89-aad0ed5dfe4f""#,
            ),
            (
                r#"readOnly "prefix wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY" is not a boolean"#,
                r#"readOnly "prefix <redacted>" is not a boolean"#,
            ),
        ] {
            assert_eq!(safe_message(input), want);
        }
    }

    #[test]
    fn long_quotes_are_cut_and_messages_capped() {
        let long = format!("invalid type: string {:?}, expected x", "ab c".repeat(1000));
        let got = safe_message(&long);
        assert_eq!(
            got,
            format!(
                "invalid type: string \"{}…\", expected x",
                &"ab c".repeat(10)
            )
        );
        // Escaped quotes do not end a quote; an unterminated quote runs to the end.
        assert_eq!(
            safe_message(r#"a "x\"y" b "unterminated"#),
            r#"a "x\"y" b "unterminated"#
        );
        let unquoted = "x ".repeat(10_000);
        assert!(safe_message(&unquoted).len() <= MAX_MESSAGE + '…'.len_utf8());
        assert_eq!(
            safe_message("é".repeat(1000).as_str()).chars().last(),
            Some('…')
        );
    }
}
