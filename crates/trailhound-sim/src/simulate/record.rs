//! One CloudTrail record, written as compact JSON in the field order AWS uses.
//!
//! The order and nesting follow real records (see `shared/datasets/invictus-aws-dataset` and the AWS
//! "CloudTrail record contents" and "userIdentity element" pages): `eventVersion`, `userIdentity`,
//! `eventTime`, `eventSource`, `eventName`, `awsRegion`, `sourceIPAddress`, `userAgent`, `errorCode`,
//! `errorMessage`, `requestParameters`, `responseElements`, `additionalEventData`, `requestID`,
//! `eventID`, `readOnly`, `resources`, `eventType`, `managementEvent`, `recipientAccountId`,
//! `sharedEventID`, `vpcEndpointId`, `vpcEndpointAccountId`, `eventCategory`,
//! `sessionCredentialFromConsole`, `tlsDetails`. `requestParameters` and `responseElements` are always
//! present (`null` when empty), the optional fields only when they apply.
//!
//! Writing is by hand into a reused `String`: this is the simulator's hot path.
use super::clock;

/// Who made the call: the `userIdentity` element.
#[derive(Clone)]
pub(crate) enum Who<'a> {
    /// An IAM user with a long-term key (or a console session: `console` = (creationDate, MFA used)).
    User {
        /// `AIDA…`.
        principal: &'a str,
        /// `arn:aws:iam::<account>:user/<name>`.
        arn: &'a str,
        /// The user's account.
        account: &'a str,
        /// `AKIA…` for API calls, `ASIA…` for console sessions; absent for `ConsoleLogin`.
        key: Option<&'a str>,
        /// The user name.
        name: &'a str,
        /// Console session attributes.
        console: Option<(&'a str, bool)>,
    },
    /// A role session.
    Role(&'a RoleSession<'a>),
    /// An AWS service acting with its own identity (`invokedBy`).
    Service(&'a str),
    /// The caller as seen by a role's owner in a cross-account `AssumeRole`.
    Account {
        /// The caller's principal id.
        principal: &'a str,
        /// The caller's account.
        account: &'a str,
    },
    /// A SAML-federated user (`AssumeRoleWithSAML`).
    Saml {
        /// `<nameQualifier>:<subject>`.
        principal: &'a str,
        /// The SAML subject.
        name: &'a str,
        /// The SAML provider's name qualifier.
        provider: &'a str,
    },
    /// An OIDC-federated workload (`AssumeRoleWithWebIdentity`).
    WebId {
        /// `<provider arn>:<audience>:<subject>`.
        principal: &'a str,
        /// The token's subject.
        name: &'a str,
        /// The provider's ARN or host.
        provider: &'a str,
    },
}

/// A role session's identity as CloudTrail writes it on every call made with it.
pub(crate) struct RoleSession<'a> {
    /// `AROA…:<session name>`.
    pub principal: &'a str,
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: &'a str,
    /// The role's account.
    pub account: &'a str,
    /// `ASIA…`.
    pub key: &'a str,
    /// The role's unique id (`AROA…`).
    pub role_id: &'a str,
    /// The role's ARN.
    pub role_arn: &'a str,
    /// The role's name.
    pub role_name: &'a str,
    /// When the session was issued (`YYYY-MM-DDTHH:MM:SSZ`).
    pub created: &'a str,
    /// Whether MFA was used to obtain it.
    pub mfa: bool,
    /// `ec2RoleDelivery` for instance credentials ("1.0" IMDSv1, "2.0" IMDSv2).
    pub delivery: Option<&'a str>,
    /// The OIDC provider of a web-identity session.
    pub web_provider: Option<&'a str>,
    /// `sourceIdentity` (SSO sessions).
    pub source_identity: Option<&'a str>,
    /// `invokedBy` when a service acts with this session (e.g. S3 calling KMS).
    pub invoked_by: Option<&'a str>,
}

/// One record; `None` fields are omitted (or written `null` for request/response).
pub(crate) struct Rec<'a> {
    /// `eventVersion`.
    pub version: &'a str,
    /// `userIdentity`.
    pub who: Who<'a>,
    /// `eventTime`, seconds since the epoch.
    pub time: i64,
    /// `eventSource`.
    pub source: &'a str,
    /// `eventName`.
    pub name: &'a str,
    /// `awsRegion`.
    pub region: &'a str,
    /// `sourceIPAddress`.
    pub ip: &'a str,
    /// `userAgent`.
    pub ua: &'a str,
    /// `errorCode` and `errorMessage`.
    pub error: Option<(&'a str, &'a str)>,
    /// `requestParameters`, raw JSON.
    pub request: Option<&'a str>,
    /// `responseElements`, raw JSON.
    pub response: Option<&'a str>,
    /// `additionalEventData`, raw JSON.
    pub additional: Option<&'a str>,
    /// `requestID`.
    pub request_id: Option<&'a str>,
    /// `eventID`.
    pub event_id: &'a str,
    /// `readOnly`.
    pub read_only: bool,
    /// `resources`, a raw JSON array.
    pub resources: Option<&'a str>,
    /// `eventType`: `AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`.
    pub event_type: &'a str,
    /// `managementEvent` (false for data events).
    pub management: bool,
    /// `recipientAccountId`.
    pub recipient: &'a str,
    /// `sharedEventID`.
    pub shared_id: Option<&'a str>,
    /// `vpcEndpointId` and `vpcEndpointAccountId`.
    pub vpce: Option<(&'a str, &'a str)>,
    /// `sessionCredentialFromConsole`.
    pub from_console: bool,
    /// `tlsDetails`: (version, cipher suite, host header).
    pub tls: Option<(&'a str, &'a str, &'a str)>,
}

impl<'a> Rec<'a> {
    /// A successful management API call with the usual defaults.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn api(
        time: i64,
        who: Who<'a>,
        source: &'a str,
        name: &'a str,
        region: &'a str,
        ip: &'a str,
        ua: &'a str,
        recipient: &'a str,
        event_id: &'a str,
    ) -> Rec<'a> {
        Rec {
            version: "1.08",
            who,
            time,
            source,
            name,
            region,
            ip,
            ua,
            error: None,
            request: None,
            response: None,
            additional: None,
            request_id: None,
            event_id,
            read_only: true,
            resources: None,
            event_type: "AwsApiCall",
            management: true,
            recipient,
            shared_id: None,
            vpce: None,
            from_console: false,
            tls: None,
        }
    }

    /// Appends the record as one line of compact JSON (no trailing newline).
    pub(crate) fn write(&self, o: &mut String) {
        o.push_str("{\"eventVersion\":\"");
        o.push_str(self.version);
        o.push_str("\",\"userIdentity\":");
        self.write_who(o);
        o.push_str(",\"eventTime\":\"");
        clock::iso(o, self.time);
        kv(o, "eventSource", self.source);
        kv(o, "eventName", self.name);
        kv(o, "awsRegion", self.region);
        kv(o, "sourceIPAddress", self.ip);
        kv(o, "userAgent", self.ua);
        if let Some((code, message)) = self.error {
            kv(o, "errorCode", code);
            kv(o, "errorMessage", message);
        }
        o.push_str("\",\"requestParameters\":");
        o.push_str(self.request.unwrap_or("null"));
        o.push_str(",\"responseElements\":");
        o.push_str(self.response.unwrap_or("null"));
        if let Some(a) = self.additional {
            o.push_str(",\"additionalEventData\":");
            o.push_str(a);
        }
        if let Some(r) = self.request_id {
            o.push_str(",\"requestID\":\"");
            o.push_str(r);
            o.push('"');
        }
        o.push_str(",\"eventID\":\"");
        o.push_str(self.event_id);
        o.push_str(if self.read_only {
            "\",\"readOnly\":true"
        } else {
            "\",\"readOnly\":false"
        });
        if let Some(r) = self.resources {
            o.push_str(",\"resources\":");
            o.push_str(r);
        }
        o.push_str(",\"eventType\":\"");
        o.push_str(self.event_type);
        o.push_str(if self.management {
            "\",\"managementEvent\":true"
        } else {
            "\",\"managementEvent\":false"
        });
        o.push_str(",\"recipientAccountId\":\"");
        o.push_str(self.recipient);
        if let Some(s) = self.shared_id {
            kv(o, "sharedEventID", s);
        }
        if let Some((id, account)) = self.vpce {
            kv(o, "vpcEndpointId", id);
            kv(o, "vpcEndpointAccountId", account);
        }
        kv(
            o,
            "eventCategory",
            if self.management {
                "Management"
            } else {
                "Data"
            },
        );
        o.push('"');
        if self.from_console {
            o.push_str(",\"sessionCredentialFromConsole\":\"true\"");
        }
        if let Some((version, cipher, host)) = self.tls {
            o.push_str(",\"tlsDetails\":{\"tlsVersion\":\"");
            o.push_str(version);
            kv(o, "cipherSuite", cipher);
            kv(o, "clientProvidedHostHeader", host);
            o.push_str("\"}");
        }
        o.push('}');
    }

    fn write_who(&self, o: &mut String) {
        match &self.who {
            Who::User {
                principal,
                arn,
                account,
                key,
                name,
                console,
            } => {
                o.push_str("{\"type\":\"IAMUser\",\"principalId\":\"");
                o.push_str(principal);
                kv(o, "arn", arn);
                kv(o, "accountId", account);
                if let Some(k) = key {
                    kv(o, "accessKeyId", k);
                }
                kv(o, "userName", name);
                o.push('"');
                if let Some((created, mfa)) = console {
                    o.push_str(",\"sessionContext\":{\"sessionIssuer\":{},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\"");
                    o.push_str(created);
                    o.push_str(if *mfa {
                        "\",\"mfaAuthenticated\":\"true\"}}"
                    } else {
                        "\",\"mfaAuthenticated\":\"false\"}}"
                    });
                }
                o.push('}');
            }
            Who::Role(s) => write_session(o, s),
            Who::Service(by) => {
                o.push_str("{\"type\":\"AWSService\",\"invokedBy\":\"");
                o.push_str(by);
                o.push_str("\"}");
            }
            Who::Account { principal, account } => {
                o.push_str("{\"type\":\"AWSAccount\",\"principalId\":\"");
                o.push_str(principal);
                kv(o, "accountId", account);
                o.push_str("\"}");
            }
            Who::Saml {
                principal,
                name,
                provider,
            } => federated(o, "SAMLUser", principal, name, provider),
            Who::WebId {
                principal,
                name,
                provider,
            } => federated(o, "WebIdentityUser", principal, name, provider),
        }
    }
}

fn federated(o: &mut String, kind: &str, principal: &str, name: &str, provider: &str) {
    o.push_str("{\"type\":\"");
    o.push_str(kind);
    kv(o, "principalId", principal);
    kv(o, "userName", name);
    kv(o, "identityProvider", provider);
    o.push_str("\"}");
}

fn write_session(o: &mut String, s: &RoleSession<'_>) {
    o.push_str("{\"type\":\"AssumedRole\",\"principalId\":\"");
    o.push_str(s.principal);
    kv(o, "arn", s.arn);
    kv(o, "accountId", s.account);
    if !s.key.is_empty() {
        kv(o, "accessKeyId", s.key);
    }
    o.push_str("\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"");
    o.push_str(s.role_id);
    kv(o, "arn", s.role_arn);
    kv(o, "accountId", s.account);
    kv(o, "userName", s.role_name);
    o.push_str("\"},\"webIdFederationData\":");
    match s.web_provider {
        Some(p) => {
            o.push_str("{\"federatedProvider\":\"");
            o.push_str(p);
            o.push_str("\",\"attributes\":{}}");
        }
        None => o.push_str("{}"),
    }
    o.push_str(",\"attributes\":{\"creationDate\":\"");
    o.push_str(s.created);
    o.push_str(if s.mfa {
        "\",\"mfaAuthenticated\":\"true\"}"
    } else {
        "\",\"mfaAuthenticated\":\"false\"}"
    });
    if let Some(id) = s.source_identity {
        o.push_str(",\"sourceIdentity\":\"");
        o.push_str(id);
        o.push('"');
    }
    if let Some(d) = s.delivery {
        o.push_str(",\"ec2RoleDelivery\":\"");
        o.push_str(d);
        o.push('"');
    }
    o.push('}');
    if let Some(by) = s.invoked_by {
        o.push_str(",\"invokedBy\":\"");
        o.push_str(by);
        o.push('"');
    }
    o.push('}');
}

/// Appends `","key":"value` — the caller is inside a string value and stays inside the new one.
///
/// Values are the simulator's own (ids, ARNs, addresses, catalogued user agents and messages) and never
/// need escaping; free text that might (policy documents) is escaped where the raw JSON is built.
fn kv(o: &mut String, key: &str, value: &str) {
    debug_assert!(
        !value.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20),
        "{value}"
    );
    o.push_str("\",\"");
    o.push_str(key);
    o.push_str("\":\"");
    o.push_str(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_call_has_the_real_shape() {
        let s = RoleSession {
            principal: "AROATFQR7NSC6Q6YRQ2Q7:i-0dbc91f429e48eeed",
            arn: "arn:aws:sts::123837392027:assumed-role/steal-role/i-0dbc91f429e48eeed",
            account: "123837392027",
            key: "ASIATFQR7NSC36DZQP7P",
            role_id: "AROATFQR7NSC6Q6YRQ2Q7",
            role_arn: "arn:aws:iam::123837392027:role/steal-role",
            role_name: "steal-role",
            created: "2023-07-10T11:55:22Z",
            mfa: false,
            delivery: Some("1.0"),
            web_provider: None,
            source_identity: None,
            invoked_by: None,
        };
        let mut r = Rec::api(
            1_688_990_242,
            Who::Role(&s),
            "ec2.amazonaws.com",
            "DescribeInstances",
            "us-east-1",
            "192.0.2.1",
            "aws-sdk-go-v2/1.17.0",
            "123837392027",
            "d3d5fd99-faa9-4959-a464-56fba613cc2e",
        );
        r.request = Some("{\"instancesSet\":{},\"filterSet\":{}}");
        r.request_id = Some("b76ccd9f-81d8-4a14-a3b9-e1b9451a517e");
        r.tls = Some((
            "TLSv1.2",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ec2.us-east-1.amazonaws.com",
        ));
        r.vpce = Some(("vpce-0123", "123837392027"));
        let mut out = String::new();
        r.write(&mut out);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(
            v["userIdentity"]["sessionContext"]["ec2RoleDelivery"],
            "1.0"
        );
        assert_eq!(
            v["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"],
            "steal-role"
        );
        assert_eq!(v["eventTime"], "2023-07-10T11:57:22Z");
        assert_eq!(v["userAgent"], "aws-sdk-go-v2/1.17.0");
        assert_eq!(v["responseElements"], serde_json::Value::Null);
        assert_eq!(v["readOnly"], true);
        assert_eq!(v["eventCategory"], "Management");
        assert_eq!(v["vpcEndpointAccountId"], "123837392027");
        assert_eq!(
            v["tlsDetails"]["clientProvidedHostHeader"],
            "ec2.us-east-1.amazonaws.com"
        );
        let keys: Vec<&str> = v
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert!(keys.len() >= 18, "{out}");
    }
}
