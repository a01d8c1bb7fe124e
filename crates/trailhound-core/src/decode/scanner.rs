//! A validating one-pass scanner for one CloudTrail record: the fields [`RawEvent`] names are read
//! straight from the text, everything else is checked and stepped over.
//!
//! It is the fast path's first try at a record ([`super::fast`]); on CloudTrail's records it is
//! faster than serde_json's derived visitors (`docs/performance-choices.md`, issue 18). It answers
//! only when its answer is certainly serde_json's: the record
//! is valid JSON by the same grammar, every named field holds the type serde expects, no named key
//! repeats, no key and no named string holds an escape, nesting stays far below serde's recursion
//! limit. For anything else it says `None` and the record is parsed by serde_json, which then reads
//! the escapes or says what is wrong. Being stricter than serde costs only speed; being laxer would
//! change results, so `tests` and the `decode` fuzz target compare the two on the same records.
//! [`Cursor::event`] names every field of [`RawEvent`] (no `..`): a field added there does not
//! compile until the scanner reads it too.
use std::borrow::Cow;

use wide::u8x16;

use super::record::{Json, RawEvent, RawIdentity, RawIssuer, RawSessionContext, Text};
use crate::event::Delivery;

/// Nesting deeper than this is left to serde (whose recursion limit is 128).
const MAX_DEPTH: u32 = 64;

/// Whether `text` holds no control character (below U+0020) between its first and last
/// non-whitespace byte: then no string in it can hold one, and strings are scanned for `"` and `\`
/// only. CloudTrail writes its files on one line; a pretty-printed file is scanned the full way.
pub(super) fn is_clean(text: &str) -> bool {
    let b = text.trim_ascii().as_bytes();
    let mut chunks = b.chunks_exact(16);
    // The smallest byte of each lane, over all blocks: one SIMD min per sixteen bytes.
    let least = chunks
        .by_ref()
        .fold(u8x16::splat(u8::MAX), |least, c| {
            least.min(u8x16::new(c.try_into().unwrap_or([0; 16])))
        })
        .reduce_min();
    least >= 0x20 && chunks.remainder().iter().all(|&x| x >= 0x20)
}

/// The record whose `{` is at `start`, and the byte offset just after its `}`; `None` when
/// serde_json must judge it. `clean`: what [`is_clean`] said of `text`.
pub(super) fn record(text: &str, start: usize, clean: bool) -> Option<(RawEvent<'_>, usize)> {
    let mut c = Cursor {
        text,
        b: text.as_bytes(),
        at: start,
        clean,
    };
    let event = c.event()?;
    Some((event, c.at))
}

/// The text and a position in it.
struct Cursor<'a> {
    text: &'a str,
    b: &'a [u8],
    at: usize,
    /// The text holds no control character (see [`is_clean`]).
    clean: bool,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Steps over JSON whitespace (the four bytes RFC 8259 allows).
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// Reads `lit` (`true`, `false`, `null`) at the cursor.
    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        self.b.get(self.at..)?.starts_with(lit).then(|| {
            self.at += lit.len();
        })
    }

    /// The container that `open` starts at the cursor and `close` ends: `item` reads each member
    /// or element, each followed by a `,` or the end.
    fn container(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        if self.peek() != Some(open) {
            return None;
        }
        self.at += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.ws();
                }
                x if x == close => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The object at the cursor: `member` reads each value, given its key and whether the key
    /// holds an escape (its text is then raw).
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str, bool) -> Option<()>,
    ) -> Option<()> {
        self.container(b'{', b'}', |c| {
            let (key, escaped) = c.string()?;
            c.ws();
            if c.peek() != Some(b':') {
                return None;
            }
            c.at += 1;
            c.ws();
            member(c, key, escaped)
        })
    }

    /// Any value at the cursor, checked and skipped; `depth` counts the containers around it.
    /// One loop, not a recursion: the containers open inside the value are a stack of bits (fewer
    /// than [`MAX_DEPTH`], so they fit in a `u64`), set for an object.
    fn skip(&mut self, depth: u32) -> Option<()> {
        let mut objects: u64 = 0;
        let mut open: u32 = 0;
        loop {
            // A value at the cursor.
            match self.peek()? {
                b'"' => drop(self.string()?),
                x @ (b'{' | b'[') if depth + open < MAX_DEPTH => {
                    let object = x == b'{';
                    self.at += 1;
                    self.ws();
                    if self.peek() == Some(if object { b'}' } else { b']' }) {
                        self.at += 1;
                    } else {
                        objects = objects << 1 | u64::from(object);
                        open += 1;
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // After a value: the next member or element, or the end of the containers it closes.
            loop {
                if open == 0 {
                    return Some(());
                }
                self.ws();
                let object = objects & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.ws();
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.at += 1;
                objects >>= 1;
                open -= 1;
            }
        }
    }

    /// A member's key (any string) and its `:`, the cursor left on the value.
    fn key(&mut self) -> Option<()> {
        self.string()?;
        self.ws();
        if self.peek() != Some(b':') {
            return None;
        }
        self.at += 1;
        self.ws();
        Some(())
    }

    /// The string at the cursor: its text between the quotes (raw, escapes included) and whether
    /// it holds an escape. A control character or a bad escape is serde's to report.
    #[inline(always)]
    fn string(&mut self) -> Option<(&'a str, bool)> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.at + 1;
        // Most strings are unescaped: sixteen bytes a step, inline, up to the closing quote.
        let mut i = start;
        while let Some(chunk) = self.b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            let found = hits(chunk, !self.clean);
            if found == 0 {
                i += 16;
                continue;
            }
            let end = i + found.trailing_zeros() as usize;
            if self.b.get(end) == Some(&b'"') {
                self.at = end + 1;
                return Some((self.text.get(start..end)?, false));
            }
            break;
        }
        self.long_string(start)
    }

    /// [`Self::string`] for a string that holds an escape or a control character, or ends too near
    /// the end of the text for a sixteen-byte step: read again from its start.
    #[inline(never)]
    fn long_string(&mut self, start: usize) -> Option<(&'a str, bool)> {
        let mut i = start;
        let mut escaped = false;
        loop {
            i = if self.clean {
                special::<false>(self.b, i)?
            } else {
                special::<true>(self.b, i)?
            };
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i = escape(self.b, i + 1)?;
                }
                _ => return None,
            }
        }
        self.at = i + 1;
        Some((self.text.get(start..i)?, escaped))
    }

    /// A number by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        let b = self.b;
        let mut i = self.at;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits(b, i),
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            let j = digits(b, i + 1);
            if j == i + 1 {
                return None;
            }
            i = j;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let j = digits(b, i);
            if j == i {
                return None;
            }
            i = j;
        }
        self.at = i;
        Some(())
    }

    /// A named string field: `null` is absent, a string without escapes is borrowed.
    #[inline(always)]
    fn text(&mut self) -> Option<Option<Text<'a>>> {
        self.nullable(|c| match c.string()? {
            (s, false) => Some(Text(Cow::Borrowed(s))),
            (_, true) => None,
        })
    }

    /// A field kept as JSON text (`requestParameters`, …): `null` is absent.
    fn json(&mut self) -> Option<Option<Json<'a>>> {
        self.nullable(|c| {
            let start = c.at;
            c.skip(1)?;
            Some(Json(c.text.get(start..c.at)?))
        })
    }

    /// `readOnly`: a boolean, or the strings `"true"`/`"false"` in any case.
    fn loose_bool(&mut self) -> Option<Option<bool>> {
        self.nullable(|c| match c.peek()? {
            b't' => c.literal(b"true").map(|()| true),
            b'f' => c.literal(b"false").map(|()| false),
            _ => match c.string()? {
                (s, false) if s.eq_ignore_ascii_case("true") => Some(true),
                (s, false) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            },
        })
    }

    /// `null` as `None`; anything else read by `read`.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek()? == b'n' {
            return self.literal(b"null").map(|()| None);
        }
        read(self).map(Some)
    }

    /// The object at the cursor, each member given to `member` with its key and the keys named so
    /// far; a key holding an escape is serde's to read (it may spell a named key).
    fn named(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str, &mut Seen) -> Option<()>,
    ) -> Option<()> {
        let mut seen = Seen(0);
        self.object(|c, key, escaped| {
            if escaped {
                return None;
            }
            member(c, key, &mut seen)
        })
    }

    /// The record: its named fields read, the rest checked and skipped.
    fn event(&mut self) -> Option<RawEvent<'a>> {
        let mut e = RawEvent {
            event_time: None,
            timestamp: None,
            event_id: None,
            event_source: None,
            event_name: None,
            aws_region: None,
            source_ip_address: None,
            user_agent: None,
            recipient_account_id: None,
            read_only: None,
            error_code: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            user_identity: None,
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            records: None,
            digest_start_time: None,
            digest_s3_object: None,
            detail: None,
        };
        self.named(|c, key, seen| {
            let Some(field) = Field::of(key) else {
                return c.skip(1);
            };
            seen.first(field as u32)?;
            match field {
                Field::EventTime => e.event_time = c.text()?,
                Field::Timestamp => e.timestamp = c.text()?,
                Field::EventId => e.event_id = c.text()?,
                Field::EventSource => e.event_source = c.text()?,
                Field::EventName => e.event_name = c.text()?,
                Field::AwsRegion => e.aws_region = c.text()?,
                Field::SourceIpAddress => e.source_ip_address = c.text()?,
                Field::UserAgent => e.user_agent = c.text()?,
                Field::RecipientAccountId => e.recipient_account_id = c.text()?,
                Field::ReadOnly => e.read_only = c.loose_bool()?,
                Field::ErrorCode => e.error_code = c.text()?,
                Field::VpcEndpointId => e.vpc_endpoint_id = c.text()?,
                Field::VpcEndpointAccountId => e.vpc_endpoint_account_id = c.text()?,
                Field::UserIdentity => e.user_identity = c.identity()?,
                Field::RequestParameters => e.request_parameters = c.json()?,
                Field::ResponseElements => e.response_elements = c.json()?,
                Field::AdditionalEventData => e.additional_event_data = c.json()?,
                // A log file, a digest file or an envelope, not a record: serde says which.
                Field::NotARecord => return None,
            }
            Some(())
        })?;
        Some(e)
    }

    /// `userIdentity`: an object or `null`.
    fn identity(&mut self) -> Option<Option<RawIdentity<'a>>> {
        self.nullable(|c| c.identity_object())
    }

    fn identity_object(&mut self) -> Option<RawIdentity<'a>> {
        let mut id = RawIdentity {
            kind: None,
            arn: None,
            account_id: None,
            access_key_id: None,
            invoked_by: None,
            session_context: None,
        };
        self.named(|c, key, seen| {
            match key {
                "type" => id.kind = seen.first(0).and_then(|()| c.text())?,
                "arn" => id.arn = seen.first(1).and_then(|()| c.text())?,
                "accountId" => id.account_id = seen.first(2).and_then(|()| c.text())?,
                "accessKeyId" => id.access_key_id = seen.first(3).and_then(|()| c.text())?,
                "invokedBy" => id.invoked_by = seen.first(4).and_then(|()| c.text())?,
                "sessionContext" => {
                    id.session_context = seen.first(5).and_then(|()| c.session_context())?;
                }
                _ => c.skip(2)?,
            }
            Some(())
        })?;
        Some(id)
    }

    /// `userIdentity.sessionContext`: an object or `null`.
    fn session_context(&mut self) -> Option<Option<RawSessionContext<'a>>> {
        self.nullable(|c| c.session_context_object())
    }

    fn session_context_object(&mut self) -> Option<RawSessionContext<'a>> {
        let mut ctx = RawSessionContext {
            ec2_role_delivery: None,
            session_issuer: None,
            source_identity: None,
        };
        self.named(|c, key, seen| {
            match key {
                "ec2RoleDelivery" => {
                    ctx.ec2_role_delivery = seen
                        .first(0)
                        .and_then(|()| c.text())?
                        .map(|s| Delivery::from_cloudtrail(&s));
                }
                "sessionIssuer" => ctx.session_issuer = seen.first(1).and_then(|()| c.issuer())?,
                "sourceIdentity" => ctx.source_identity = seen.first(2).and_then(|()| c.text())?,
                _ => c.skip(3)?,
            }
            Some(())
        })?;
        Some(ctx)
    }

    /// `sessionContext.sessionIssuer`: an object or `null`.
    fn issuer(&mut self) -> Option<Option<RawIssuer<'a>>> {
        self.nullable(|c| c.issuer_object())
    }

    fn issuer_object(&mut self) -> Option<RawIssuer<'a>> {
        let mut issuer = RawIssuer { arn: None };
        self.named(|c, key, seen| {
            match key {
                "arn" => issuer.arn = seen.first(0).and_then(|()| c.text())?,
                _ => c.skip(4)?,
            }
            Some(())
        })?;
        Some(issuer)
    }
}

/// The keys of a record that [`Cursor::event`] reads; each one's value is its bit in [`Seen`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    EventTime,
    Timestamp,
    EventId,
    EventSource,
    EventName,
    AwsRegion,
    SourceIpAddress,
    UserAgent,
    RecipientAccountId,
    ReadOnly,
    ErrorCode,
    VpcEndpointId,
    VpcEndpointAccountId,
    UserIdentity,
    RequestParameters,
    ResponseElements,
    AdditionalEventData,
    /// `Records`, `digestStartTime`, `digestS3Object` or `detail`: a log file, a digest file or
    /// an envelope.
    NotARecord,
}

impl Field {
    /// The field `key` names: by its length first (one jump), then by its text among the few of
    /// that length. A record has twenty-odd keys, most of them not read.
    fn of(key: &str) -> Option<Field> {
        use Field::*;
        Some(match key.len() {
            6 if key == "detail" => NotARecord,
            7 => match key {
                "eventID" => EventId,
                "Records" => NotARecord,
                _ => return None,
            },
            8 if key == "readOnly" => ReadOnly,
            9 => match key {
                "eventTime" => EventTime,
                "eventName" => EventName,
                "awsRegion" => AwsRegion,
                "userAgent" => UserAgent,
                "errorCode" => ErrorCode,
                _ => return None,
            },
            10 if key == "@timestamp" => Timestamp,
            11 if key == "eventSource" => EventSource,
            12 if key == "userIdentity" => UserIdentity,
            13 if key == "vpcEndpointId" => VpcEndpointId,
            14 if key == "digestS3Object" => NotARecord,
            15 => match key {
                "sourceIPAddress" => SourceIpAddress,
                "digestStartTime" => NotARecord,
                _ => return None,
            },
            16 if key == "responseElements" => ResponseElements,
            17 if key == "requestParameters" => RequestParameters,
            18 if key == "recipientAccountId" => RecipientAccountId,
            19 if key == "additionalEventData" => AdditionalEventData,
            20 if key == "vpcEndpointAccountId" => VpcEndpointAccountId,
            _ => return None,
        })
    }
}

/// The named keys of one object read so far (serde refuses a named key given twice).
struct Seen(u32);

impl Seen {
    /// `Some` the first time key `bit` is met.
    fn first(&mut self, bit: u32) -> Option<()> {
        let mask = 1 << bit;
        (self.0 & mask == 0).then(|| self.0 |= mask)
    }
}

/// The lanes of sixteen bytes that hold `"` or `\\`, or a control character too when `control`,
/// as a bit mask (lane 0 lowest): one SIMD compare per kind (SSE2 on x86-64, through `wide`).
#[inline(always)]
fn hits(chunk: &[u8; 16], control: bool) -> u32 {
    let x = u8x16::new(*chunk);
    let mut hits = x.simd_eq(u8x16::splat(b'"')) | x.simd_eq(u8x16::splat(b'\\'));
    if control {
        hits |= x.min(u8x16::splat(0x1f)).simd_eq(x);
    }
    hits.to_bitmask()
}

/// The index of the first `"` or `\\` at or after `i`, or of the first control character too
/// when `CONTROL`.
#[inline]
fn special<const CONTROL: bool>(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        let found = hits(chunk, CONTROL);
        if found != 0 {
            return Some(i + found.trailing_zeros() as usize);
        }
        i += 16;
    }
    let tail = b.get(i..)?;
    tail.iter()
        .position(|&x| x == b'"' || x == b'\\' || (CONTROL && x < 0x20))
        .map(|p| i + p)
}

/// Past the escape whose `\` precedes `i`. A `\u` escape of a surrogate is left to serde: whether
/// it is an error depends on where serde reads the string.
fn escape(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 1),
        b'u' => {
            let mut n = 0;
            for &h in b.get(i + 1..i + 5)? {
                n = n * 16 + char::from(h).to_digit(16)?;
            }
            (!(0xD800..=0xDFFF).contains(&n)).then_some(i + 5)
        }
        _ => None,
    }
}

/// Past the ASCII digits from `i`.
fn digits(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b'0'..=b'9')) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::Field;

    /// Every key `RawEvent` names (serde's spelling) reaches its field, and nothing near it does.
    #[test]
    fn record_keys_reach_their_fields() {
        let named = [
            ("eventTime", Field::EventTime),
            ("@timestamp", Field::Timestamp),
            ("eventID", Field::EventId),
            ("eventSource", Field::EventSource),
            ("eventName", Field::EventName),
            ("awsRegion", Field::AwsRegion),
            ("sourceIPAddress", Field::SourceIpAddress),
            ("userAgent", Field::UserAgent),
            ("recipientAccountId", Field::RecipientAccountId),
            ("readOnly", Field::ReadOnly),
            ("errorCode", Field::ErrorCode),
            ("vpcEndpointId", Field::VpcEndpointId),
            ("vpcEndpointAccountId", Field::VpcEndpointAccountId),
            ("userIdentity", Field::UserIdentity),
            ("requestParameters", Field::RequestParameters),
            ("responseElements", Field::ResponseElements),
            ("additionalEventData", Field::AdditionalEventData),
            ("Records", Field::NotARecord),
            ("digestStartTime", Field::NotARecord),
            ("digestS3Object", Field::NotARecord),
            ("detail", Field::NotARecord),
        ];
        for (key, field) in named {
            assert_eq!(Field::of(key), Some(field), "{key}");
        }
        for other in [
            "eventtime",
            "EventTime",
            "eventVersion",
            "eventType",
            "requestID",
            "resources",
            "sourceIpAddress",
            "userIdentity ",
            "",
            "tlsDetails",
            "managementEvent",
            "sharedEventID",
        ] {
            assert_eq!(Field::of(other), None, "{other}");
        }
    }
}
