//! One CloudTrail record: borrowed serde view of the fields trailhound reads, and its conversion to [`Event`].
//!
//! Only the fields a stage needs are named; everything else is skipped by serde without being
//! materialised. Strings borrow from the input (`Cow` only allocates for escaped strings). The
//! secret parts of STS responses (`secretAccessKey`, `sessionToken`) are never named, so never copied.
use std::borrow::Cow;
use std::sync::LazyLock;

use compact_str::CompactString;
use memchr::memmem::Finder;
use serde::de::{self, Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::net;
use crate::event::{
    is_instance_id, Delivery, Detail, Event, Identity, IdentityType, Issued, TextParts, Texts,
};
use crate::time::EventTime;

/// The top-level fields of one value in the input: an event, an EventBridge envelope, a log
/// file's `{"Records": […]}` or a digest file. Unknown fields are ignored (newer event shapes).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawEvent<'a> {
    #[serde(borrow)]
    pub(super) event_time: Option<Text<'a>>,
    #[serde(rename = "@timestamp", borrow)]
    pub(super) timestamp: Option<Text<'a>>,
    #[serde(rename = "eventID", borrow)]
    pub(super) event_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) event_source: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) event_name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) aws_region: Option<Text<'a>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    pub(super) source_ip_address: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) user_agent: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) recipient_account_id: Option<Text<'a>>,
    #[serde(default, deserialize_with = "loose_bool")]
    pub(super) read_only: Option<bool>,
    #[serde(borrow)]
    pub(super) error_code: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) vpc_endpoint_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) vpc_endpoint_account_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) user_identity: Option<RawIdentity<'a>>,
    #[serde(borrow)]
    pub(super) request_parameters: Option<Json<'a>>,
    #[serde(borrow)]
    pub(super) response_elements: Option<Json<'a>>,
    /// Read only for S3 events (`AuthenticationMethod`), and kept raw so that an odd shape in any
    /// other event costs nothing and fails nothing.
    #[serde(borrow)]
    pub(super) additional_event_data: Option<Json<'a>>,
    /// A log file's records (the value is a whole log file).
    #[serde(rename = "Records", borrow)]
    pub(super) records: Option<&'a RawValue>,
    /// Present in digest files only.
    pub(super) digest_start_time: Option<IgnoredAny>,
    /// Present in digest files only.
    pub(super) digest_s3_object: Option<IgnoredAny>,
    /// EventBridge wraps the CloudTrail event in `detail`.
    #[serde(borrow)]
    pub(super) detail: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawIdentity<'a> {
    #[serde(rename = "type", borrow)]
    pub(super) kind: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) arn: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) account_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) access_key_id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) invoked_by: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) session_context: Option<RawSessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawSessionContext<'a> {
    #[serde(default, deserialize_with = "loose_delivery")]
    pub(super) ec2_role_delivery: Option<Delivery>,
    #[serde(borrow)]
    pub(super) session_issuer: Option<RawIssuer<'a>>,
    #[serde(borrow)]
    pub(super) source_identity: Option<Text<'a>>,
}

/// `additionalEventData` of an S3 event: only how the request was authenticated.
#[derive(Deserialize)]
struct RawAdditional<'a> {
    #[serde(rename = "AuthenticationMethod", borrow)]
    authentication_method: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(super) struct RawIssuer<'a> {
    #[serde(borrow)]
    pub(super) arn: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawStsRequest<'a> {
    #[serde(borrow)]
    role_arn: Option<Text<'a>>,
    #[serde(borrow)]
    role_session_name: Option<Text<'a>>,
    #[serde(borrow)]
    source_identity: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct RawStsResponse<'a> {
    #[serde(borrow)]
    credentials: Option<RawCredentials<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCredentials<'a> {
    #[serde(borrow)]
    access_key_id: Option<Text<'a>>,
    /// Lenient: a malformed expiration must not cost the issued key (the tracker learns the
    /// instance's keys from these responses).
    #[serde(default, deserialize_with = "lenient_string")]
    expiration: Option<String>,
}

/// What a value turned out to be.
pub(super) enum Shape<'a> {
    /// A CloudTrail event.
    Event(Box<Event>),
    /// A log file: its `Records` array.
    Records,
    /// A digest file (never events).
    Digest,
    /// An EventBridge envelope: the event is in `detail`.
    Envelope(&'a RawValue),
    /// JSON, but not CloudTrail: says which required field is missing.
    Unrelated(&'static str),
}

/// Why a record could not become an event (the message quotes the bad value).
pub(super) type RecordError = String;

impl<'a> RawEvent<'a> {
    /// Classifies the value and, for an event, converts it.
    pub(super) fn into_shape(self) -> Result<Shape<'a>, RecordError> {
        if self.records.is_some() {
            return Ok(Shape::Records);
        }
        if self.digest_start_time.is_some() || self.digest_s3_object.is_some() {
            return Ok(Shape::Digest);
        }
        if self.event_name.is_none() && self.event_time.is_none() {
            return Ok(match self.detail {
                Some(detail) => Shape::Envelope(detail),
                None => Shape::Unrelated("no eventName or eventTime"),
            });
        }
        self.into_event().map(|e| Shape::Event(Box::new(e)))
    }

    fn into_event(self) -> Result<Event, RecordError> {
        let raw_time = self
            .event_time
            .as_deref()
            .or(self.timestamp.as_deref())
            .ok_or("missing eventTime")?;
        let time = EventTime::parse(raw_time)
            .ok_or_else(|| format!("eventTime {raw_time:?} is not an RFC 3339 time"))?;
        let event_source = self.event_source.ok_or("missing eventSource")?;
        let event_name = self.event_name.ok_or("missing eventName")?;
        let (identity_arn, issuer_arn) = match &self.user_identity {
            Some(id) => (
                id.arn.as_deref(),
                id.session_context
                    .as_ref()
                    .and_then(|c| c.session_issuer.as_ref())
                    .and_then(|i| i.arn.as_deref()),
            ),
            None => (None, None),
        };
        let texts = Texts::new(TextParts {
            event_id: self.event_id.as_deref().unwrap_or(""),
            event_source: &event_source,
            event_name: &event_name,
            user_agent: self.user_agent.as_deref().unwrap_or(""),
            identity_arn,
            issuer_arn,
        });
        let identity = self
            .user_identity
            .map(RawIdentity::into_identity)
            .unwrap_or(Identity {
                kind: IdentityType::Missing,
                account_id: None,
                access_key_id: None,
                invoked_by: None,
                delivery: None,
                source_identity: None,
            });
        let failed = self.error_code.is_some();
        let detail = if failed {
            Detail::None
        } else if &*event_source == "sts.amazonaws.com" {
            issued(&event_name, self.request_parameters, self.response_elements)
                .map_or(Detail::None, |i| Detail::Issued(Box::new(i)))
        } else if &*event_source == "ec2.amazonaws.com" && net::is_net_event(&event_name) {
            let facts = net::facts(
                &event_name,
                self.request_parameters.map(|j| j.0),
                self.response_elements.map(|j| j.0),
            );
            if facts.is_empty() {
                Detail::None
            } else {
                Detail::Net(Box::new(facts))
            }
        } else if let Some(ids) = touched(&event_source, &event_name, self.request_parameters) {
            Detail::Touched(Box::new(ids))
        } else {
            Detail::None
        };
        let presigned = &*event_source == "s3.amazonaws.com"
            && self
                .additional_event_data
                .filter(|r| may_hold_query_string(r.0))
                .and_then(|r| serde_json::from_str::<RawAdditional>(r.0).ok())
                .and_then(|a| a.authentication_method)
                .is_some_and(|m| &*m == "QueryString");
        Ok(Event {
            time,
            texts,
            region: compact(self.aws_region).unwrap_or_default(),
            source_ip: compact(self.source_ip_address).unwrap_or_default(),
            recipient_account: compact(self.recipient_account_id).unwrap_or_default(),
            read_only: self.read_only,
            error_code: compact(self.error_code),
            vpc_endpoint_id: compact(self.vpc_endpoint_id),
            vpc_endpoint_account_id: compact(self.vpc_endpoint_account_id),
            presigned,
            identity,
            detail,
            raw: None,
            sigma: None,
        })
    }
}

impl RawIdentity<'_> {
    fn into_identity(self) -> Identity {
        let (delivery, source_identity) = match self.session_context {
            Some(ctx) => (ctx.ec2_role_delivery, compact(ctx.source_identity)),
            None => (None, None),
        };
        Identity {
            kind: self
                .kind
                .as_deref()
                .map_or(IdentityType::Missing, IdentityType::from_cloudtrail),
            account_id: compact(self.account_id),
            access_key_id: compact(self.access_key_id),
            invoked_by: compact(self.invoked_by),
            delivery,
            source_identity,
        }
    }
}

/// Credentials an STS call handed out (never their secret parts).
fn issued(
    event_name: &str,
    request: Option<Json<'_>>,
    response: Option<Json<'_>>,
) -> Option<Issued> {
    if !matches!(
        event_name,
        "AssumeRole"
            | "AssumeRoleWithSAML"
            | "AssumeRoleWithWebIdentity"
            | "GetSessionToken"
            | "GetFederationToken"
    ) {
        return None;
    }
    let resp: RawStsResponse = serde_json::from_str(response?.0).ok()?;
    let creds = resp.credentials?;
    let req: Option<RawStsRequest> = request.and_then(|r| serde_json::from_str(r.0).ok());
    let (role_arn, session_name, source_identity) = match req {
        Some(r) => (
            compact(r.role_arn),
            compact(r.role_session_name),
            compact(r.source_identity),
        ),
        None => (None, None, None),
    };
    Some(Issued {
        role_arn,
        session_name,
        access_key_id: compact(creds.access_key_id)?,
        expiration: creds.expiration.as_deref().and_then(EventTime::parse_loose),
        source_identity,
    })
}

/// The instances a person reached into: `ssm:SendCommand` (`instanceIds`, or `targets` of key
/// `InstanceIds`), `ssm:StartSession` (`target`), `ec2-instance-connect:SendSSHPublicKey` and
/// `SendSerialConsoleSSHPublicKey` (`instanceId`). Every strict instance id in the request counts.
/// These calls are rare, so the request is parsed into a `Value` and walked.
fn touched(source: &str, name: &str, request: Option<Json<'_>>) -> Option<Vec<CompactString>> {
    let wanted = match source {
        "ssm.amazonaws.com" => matches!(name, "SendCommand" | "StartSession"),
        "ec2-instance-connect.amazonaws.com" => {
            matches!(name, "SendSSHPublicKey" | "SendSerialConsoleSSHPublicKey")
        }
        _ => false,
    };
    if !wanted {
        return None;
    }
    fn walk(v: &serde_json::Value, out: &mut Vec<CompactString>) {
        match v {
            serde_json::Value::String(s) if is_instance_id(s) => out.push(s.as_str().into()),
            serde_json::Value::Array(items) => items.iter().for_each(|c| walk(c, out)),
            serde_json::Value::Object(map) => map.values().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let v: serde_json::Value = serde_json::from_str(request?.0).ok()?;
    let mut ids = Vec::new();
    walk(&v, &mut ids);
    ids.sort();
    ids.dedup();
    (!ids.is_empty()).then_some(ids)
}

/// False only when no string in `json` can read as `QueryString`: the text is absent and nothing
/// is escaped. (Every S3 event has `additionalEventData`; few are presigned, and parsing it for all
/// of them cost several percent of a run.) The searcher is built once, not per event.
fn may_hold_query_string(json: &str) -> bool {
    static QUERY_STRING: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("QueryString"));
    memchr::memchr(b'\\', json.as_bytes()).is_some() || QUERY_STRING.find(json.as_bytes()).is_some()
}

fn compact(s: Option<Text<'_>>) -> Option<CompactString> {
    s.map(|s| CompactString::from(&*s.0))
}

/// A JSON value kept as its text (what `RawValue` borrows), parsed later only for the events that
/// need it.
#[derive(Clone, Copy)]
pub(super) struct Json<'a>(pub(super) &'a str);

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|r| Json(r.get()))
    }
}

/// A string field: borrowed from the input unless it holds escapes. (`#[serde(borrow)]` does not
/// reach through `Option<Cow<str>>`: serde's own `Cow` impl always copies, which cost an
/// allocation per field per event.)
pub struct Text<'a>(pub(super) Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// `null` as `None`; anything else is read by `visitor` (through `deserialize_any`).
fn nullable<'de, D: Deserializer<'de>, V: de::Visitor<'de>>(
    d: D,
    visitor: V,
) -> Result<Option<V::Value>, D::Error> {
    struct Nullable<V>(V);
    impl<'de, V: de::Visitor<'de>> de::Visitor<'de> for Nullable<V> {
        type Value = Option<V::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            self.0.expecting(f)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self.0).map(Some)
        }
    }
    d.deserialize_option(Nullable(visitor))
}

/// `true`/`false`, or the strings `"true"`/`"false"` some pipelines write (a visitor, not an
/// untagged enum: this runs on every event).
fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl de::Visitor<'_> for V {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean or \"true\"/\"false\"")
        }
        fn visit_bool<E: de::Error>(self, b: bool) -> Result<bool, E> {
            Ok(b)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
            match s {
                _ if s.eq_ignore_ascii_case("true") => Ok(true),
                _ if s.eq_ignore_ascii_case("false") => Ok(false),
                _ => Err(E::custom(format!("readOnly {s:?} is not a boolean"))),
            }
        }
    }
    nullable(d, V)
}

/// `ec2RoleDelivery`: a string, or a number or boolean written where the string belongs
/// (`"ec2RoleDelivery": 2.0` reads as `"2.0"`). Read without allocating: it is in every instance
/// credential's events.
fn loose_delivery<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Delivery>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Delivery;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Delivery, E> {
            Ok(Delivery::from_cloudtrail(s))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Delivery, E> {
            Ok(match n {
                1 => Delivery::ImdsV1,
                2 => Delivery::ImdsV2,
                _ => Delivery::Other,
            })
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Delivery, E> {
            self.visit_u64(u64::try_from(n).unwrap_or(0))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Delivery, E> {
            Ok(if n == 1.0 {
                Delivery::ImdsV1
            } else if n == 2.0 {
                Delivery::ImdsV2
            } else {
                Delivery::Other
            })
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Delivery, E> {
            Ok(Delivery::Other)
        }
        // The value is not quoted: it may be an object holding secrets, so it is never quoted back.
        fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Delivery, A::Error> {
            Err(de::Error::custom("expected a string, found an array"))
        }
        fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Delivery, A::Error> {
            Err(de::Error::custom("expected a string, found an object"))
        }
    }
    nullable(d, V)
}

/// A string, or a number written where a string belongs; an array or object is read as absent
/// instead of failing the enclosing value.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}
