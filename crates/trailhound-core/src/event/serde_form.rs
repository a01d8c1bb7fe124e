//! The serde form of [`Event`]: its fields in their order, with the texts of [`Texts`] where
//! CloudTrail puts them (`event_id` … `user_agent` among the event's fields, the two ARNs in
//! `identity`). Durable state (postcard, which is not self-describing) keeps held events in this
//! form, so it must not change without a new state `VERSION`; a test pins it.
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use super::{Delivery, Detail, Event, Identity, IdentityType, RawText, TextParts, Texts};
use crate::time::EventTime;

#[derive(Serialize)]
#[serde(rename = "Event")]
struct EventOut<'a> {
    time: EventTime,
    event_id: &'a str,
    event_source: &'a str,
    event_name: &'a str,
    region: &'a CompactString,
    source_ip: &'a CompactString,
    user_agent: &'a str,
    recipient_account: &'a CompactString,
    read_only: Option<bool>,
    error_code: &'a Option<CompactString>,
    vpc_endpoint_id: &'a Option<CompactString>,
    vpc_endpoint_account_id: &'a Option<CompactString>,
    presigned: bool,
    identity: IdentityOut<'a>,
    detail: &'a Detail,
    raw: &'a Option<RawText>,
    sigma: &'a Option<Box<[u16]>>,
}

#[derive(Serialize)]
#[serde(rename = "Identity")]
struct IdentityOut<'a> {
    kind: IdentityType,
    arn: Option<&'a str>,
    account_id: &'a Option<CompactString>,
    access_key_id: &'a Option<CompactString>,
    invoked_by: &'a Option<CompactString>,
    delivery: Option<Delivery>,
    issuer_arn: Option<&'a str>,
    source_identity: &'a Option<CompactString>,
}

#[derive(Deserialize)]
#[serde(rename = "Event")]
struct EventIn {
    time: EventTime,
    event_id: String,
    event_source: String,
    event_name: String,
    region: CompactString,
    source_ip: CompactString,
    user_agent: String,
    recipient_account: CompactString,
    read_only: Option<bool>,
    error_code: Option<CompactString>,
    vpc_endpoint_id: Option<CompactString>,
    vpc_endpoint_account_id: Option<CompactString>,
    presigned: bool,
    identity: IdentityIn,
    detail: Detail,
    raw: Option<RawText>,
    #[serde(default)]
    sigma: Option<Box<[u16]>>,
}

#[derive(Deserialize)]
#[serde(rename = "Identity")]
struct IdentityIn {
    kind: IdentityType,
    arn: Option<String>,
    account_id: Option<CompactString>,
    access_key_id: Option<CompactString>,
    invoked_by: Option<CompactString>,
    delivery: Option<Delivery>,
    issuer_arn: Option<String>,
    source_identity: Option<CompactString>,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.texts.parts();
        let id = &self.identity;
        EventOut {
            time: self.time,
            event_id: t.event_id,
            event_source: t.event_source,
            event_name: t.event_name,
            region: &self.region,
            source_ip: &self.source_ip,
            user_agent: t.user_agent,
            recipient_account: &self.recipient_account,
            read_only: self.read_only,
            error_code: &self.error_code,
            vpc_endpoint_id: &self.vpc_endpoint_id,
            vpc_endpoint_account_id: &self.vpc_endpoint_account_id,
            presigned: self.presigned,
            identity: IdentityOut {
                kind: id.kind,
                arn: t.identity_arn,
                account_id: &id.account_id,
                access_key_id: &id.access_key_id,
                invoked_by: &id.invoked_by,
                delivery: id.delivery,
                issuer_arn: t.issuer_arn,
                source_identity: &id.source_identity,
            },
            detail: &self.detail,
            raw: &self.raw,
            sigma: &self.sigma,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = EventIn::deserialize(d)?;
        let id = e.identity;
        Ok(Event {
            time: e.time,
            texts: Texts::new(TextParts {
                event_id: &e.event_id,
                event_source: &e.event_source,
                event_name: &e.event_name,
                user_agent: &e.user_agent,
                identity_arn: id.arn.as_deref(),
                issuer_arn: id.issuer_arn.as_deref(),
            }),
            region: e.region,
            source_ip: e.source_ip,
            recipient_account: e.recipient_account,
            read_only: e.read_only,
            error_code: e.error_code,
            vpc_endpoint_id: e.vpc_endpoint_id,
            vpc_endpoint_account_id: e.vpc_endpoint_account_id,
            presigned: e.presigned,
            identity: Identity {
                kind: id.kind,
                account_id: id.account_id,
                access_key_id: id.access_key_id,
                invoked_by: id.invoked_by,
                delivery: id.delivery,
                source_identity: id.source_identity,
            },
            detail: e.detail,
            raw: e.raw,
            sigma: e.sigma,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::testkit::event;
    use crate::event::Event;

    const CALL: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:i-0dbc91f429e48eeed","arn":"arn:aws:sts::123837392027:assumed-role/steal-role/i-0dbc91f429e48eeed","accountId":"123837392027","accessKeyId":"ASIATFQR7NSC36DZQP7P","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::123837392027:role/steal-role","accountId":"123837392027","userName":"steal-role"},"attributes":{"creationDate":"2023-07-10T11:55:22Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"1.0"}},"eventTime":"2023-07-10T11:57:22Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"192.168.10.20","userAgent":"aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10","requestParameters":null,"responseElements":null,"requestID":"8bd4c64d-fd05-4e07-b056-6dfa3c985576","eventID":"bf68f8c0-590b-4740-ac89-aad0ed5dfe4f","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123837392027","eventCategory":"Management"}"#;

    const WANT: &str = r#"{"time":1688990242000,"event_id":"bf68f8c0-590b-4740-ac89-aad0ed5dfe4f","event_source":"sts.amazonaws.com","event_name":"GetCallerIdentity","region":"us-east-1","source_ip":"192.168.10.20","user_agent":"aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10","recipient_account":"123837392027","read_only":true,"error_code":null,"vpc_endpoint_id":null,"vpc_endpoint_account_id":null,"presigned":false,"identity":{"kind":"AssumedRole","arn":"arn:aws:sts::123837392027:assumed-role/steal-role/i-0dbc91f429e48eeed","account_id":"123837392027","access_key_id":"ASIATFQR7NSC36DZQP7P","invoked_by":null,"delivery":"ImdsV1","issuer_arn":"arn:aws:iam::123837392027:role/steal-role","source_identity":null},"detail":"None","raw":null,"sigma":null}"#;

    /// The form held events had before the texts moved into one block (the derived form of the
    /// old fields), which state `VERSION` 1 files hold.
    #[test]
    fn the_serde_form_is_the_fields_in_their_order() {
        let ev = event(CALL);
        let json = serde_json::to_string(&ev).expect("serializes");
        assert_eq!(json, WANT);
        let back: Event = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, ev);
        let bytes = postcard::to_allocvec(&ev).expect("serializes");
        let back: Event = postcard::from_bytes(&bytes).expect("deserializes");
        assert_eq!(back, ev);
    }
}
