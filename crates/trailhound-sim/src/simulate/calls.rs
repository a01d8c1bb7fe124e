//! The API calls workloads make: event source, name, `readOnly`, management or data event, and the
//! `requestParameters` / `resources` / `additionalEventData` they carry, in the shapes CloudTrail logs.
//!
//! Shapes follow real records (`shared/datasets`): S3 data events carry `bucketName`, `Host`, `key`,
//! `additionalEventData` (`SignatureVersion`, `CipherSuite`, `bytesTransferredIn/Out`,
//! `AuthenticationMethod`, `x-amz-id-2`), object and bucket `resources` and a 16-character `requestID`;
//! EC2 `Describe*` calls log their filters and a `null` response; KMS calls list the key in `resources`.
use std::fmt::Write as _;

use super::rng::Rng;

/// An AWS service, as CloudTrail names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Svc {
    /// Amazon EC2.
    Ec2,
    /// AWS STS.
    Sts,
    /// AWS Systems Manager.
    Ssm,
    /// AWS KMS.
    Kms,
    /// AWS Secrets Manager.
    Secrets,
    /// CloudWatch Logs.
    Logs,
    /// Amazon S3.
    S3,
    /// Amazon ECR.
    Ecr,
    /// EC2 Auto Scaling.
    Autoscaling,
    /// DynamoDB.
    Dynamodb,
    /// CloudFormation.
    Cloudformation,
    /// IAM.
    Iam,
    /// Lambda.
    Lambda,
    /// ECS.
    Ecs,
    /// CloudTrail.
    Cloudtrail,
    /// GuardDuty.
    Guardduty,
    /// Sign-in.
    Signin,
}

/// Number of services (for per-service tables).
pub(crate) const SVC_COUNT: usize = 17;

impl Svc {
    /// `eventSource`.
    pub(crate) fn source(self) -> &'static str {
        match self {
            Svc::Ec2 => "ec2.amazonaws.com",
            Svc::Sts => "sts.amazonaws.com",
            Svc::Ssm => "ssm.amazonaws.com",
            Svc::Kms => "kms.amazonaws.com",
            Svc::Secrets => "secretsmanager.amazonaws.com",
            Svc::Logs => "logs.amazonaws.com",
            Svc::S3 => "s3.amazonaws.com",
            Svc::Ecr => "ecr.amazonaws.com",
            Svc::Autoscaling => "autoscaling.amazonaws.com",
            Svc::Dynamodb => "dynamodb.amazonaws.com",
            Svc::Cloudformation => "cloudformation.amazonaws.com",
            Svc::Iam => "iam.amazonaws.com",
            Svc::Lambda => "lambda.amazonaws.com",
            Svc::Ecs => "ecs.amazonaws.com",
            Svc::Cloudtrail => "cloudtrail.amazonaws.com",
            Svc::Guardduty => "guardduty.amazonaws.com",
            Svc::Signin => "signin.amazonaws.com",
        }
    }

    /// The IAM action prefix (`ec2`, `secretsmanager`, …).
    pub(crate) fn prefix(self) -> &'static str {
        let s = self.source();
        &s[..s.find('.').unwrap_or(s.len())]
    }

    /// The regional endpoint's host, as `tlsDetails.clientProvidedHostHeader` shows it.
    pub(crate) fn host(self, region: &str) -> String {
        match self {
            Svc::Iam => "iam.amazonaws.com".to_string(),
            Svc::Signin => "signin.aws.amazon.com".to_string(),
            Svc::Ecr => format!("api.ecr.{region}.amazonaws.com"),
            _ => format!("{}.{region}.amazonaws.com", self.prefix()),
        }
    }

    /// Its index in per-service tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How the request parameters of a call are built.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Req {
    /// `null`.
    Null,
    /// A fixed JSON object.
    Fixed(&'static str),
    /// `DescribeInstances` of the caller's own instance.
    SelfInstance,
    /// `DescribeTags` filtered on the caller's instance.
    SelfTags,
    /// `DescribeAutoScalingInstances` of the caller's instance.
    AsgSelf,
    /// `GetParameter` of one of the app's parameters.
    SsmParam,
    /// `GetSecretValue` of the app's secret.
    Secret,
    /// KMS `Decrypt` (key in `resources`).
    KmsDecrypt,
    /// KMS `GenerateDataKey` on the app's key alias.
    KmsGdk,
    /// S3 `GetObject`.
    S3Get,
    /// S3 `PutObject`.
    S3Put,
    /// S3 `ListObjects` (v2).
    S3List,
    /// CloudWatch Logs `CreateLogStream`.
    LogStream,
    /// SSM agent `UpdateInstanceInformation`.
    SsmUpdate,
    /// SSM agent `ListInstanceAssociations`.
    SsmAssoc,
    /// DynamoDB `DescribeTable` of the app's table.
    DdbTable,
    /// VPC CNI `AssignPrivateIpAddresses` on the node's ENI.
    EniAssign,
    /// The ECS agent's calls naming its cluster and container instance.
    SelfEcs,
}

/// One kind of API call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Api {
    /// The service.
    pub svc: Svc,
    /// `eventName`.
    pub name: &'static str,
    /// `readOnly`.
    pub ro: bool,
    /// A data event (`managementEvent: false`, `eventCategory: Data`).
    pub data: bool,
    /// Request parameters.
    pub req: Req,
}

/// The context a call's parameters are built from.
pub(crate) struct Ctx<'a> {
    /// Account id.
    pub account: &'a str,
    /// Region.
    pub region: &'a str,
    /// Account name (`prod`, …), used in resource names.
    pub env: &'a str,
    /// Workload name (`web`, …).
    pub app: &'a str,
    /// The calling instance, if any.
    pub instance: &'a str,
    /// The calling instance's primary ENI, if any.
    pub eni: &'a str,
    /// The workload's bucket.
    pub bucket: &'a str,
    /// The workload's KMS key id (a UUID).
    pub kms_key: &'a str,
}

/// The rendered parts of one call; an empty string means absent (`null` for request/response).
#[derive(Default)]
pub(crate) struct Parts {
    /// `requestParameters`.
    pub req: String,
    /// `responseElements`.
    pub resp: String,
    /// `resources`.
    pub res: String,
    /// `additionalEventData`.
    pub add: String,
    /// `requestID` (S3's 16-character form or a UUID).
    pub request_id: String,
}

/// `Some(s)` unless `s` is empty.
pub(crate) fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Renders `api`'s parameters for `c` into `p` (cleared first).
pub(crate) fn render(api: &Api, c: &Ctx<'_>, rng: &mut Rng, p: &mut Parts) {
    p.req.clear();
    p.resp.clear();
    p.res.clear();
    p.add.clear();
    p.request_id.clear();
    if api.svc == Svc::S3 && api.data {
        p.request_id.push_str(rng.upper::<16>().as_str());
    } else {
        p.request_id.push_str(rng.uuid().as_str());
    }
    let r = &mut p.req;
    let (acct, region, env, app, inst) = (c.account, c.region, c.env, c.app, c.instance);
    let _ = match api.req {
        Req::Null => Ok(()),
        Req::Fixed(s) => r.write_str(s),
        Req::SelfInstance => write!(r, "{{\"instancesSet\":{{\"items\":[{{\"instanceId\":\"{inst}\"}}]}},\"filterSet\":{{}}}}"),
        Req::SelfTags => write!(r, "{{\"filterSet\":{{\"items\":[{{\"name\":\"resource-id\",\"valueSet\":{{\"items\":[{{\"value\":\"{inst}\"}}]}}}}]}}}}"),
        Req::AsgSelf => write!(r, "{{\"instanceIds\":[\"{inst}\"]}}"),
        Req::SsmParam => write!(r, "{{\"name\":\"/{env}/{app}/{}\",\"withDecryption\":true}}", rng.pick(&["db-url", "feature-flags", "api-endpoint", "queue-url"])),
        Req::Secret => write!(r, "{{\"secretId\":\"{env}/{app}/credentials\"}}"),
        Req::KmsDecrypt => {
            let _ = write!(p.res, "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:kms:{region}:{acct}:key/{}\"}}]", c.kms_key);
            r.write_str("{\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}")
        }
        Req::KmsGdk => {
            let _ = write!(p.res, "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::KMS::Key\",\"ARN\":\"arn:aws:kms:{region}:{acct}:key/{}\"}}]", c.kms_key);
            write!(r, "{{\"keyId\":\"alias/{env}-{app}\",\"keySpec\":\"AES_256\"}}")
        }
        Req::S3Get | Req::S3Put => {
            let key = rng.hex::<16>();
            let object = if matches!(api.req, Req::S3Get) { format!("{app}/objects/{}.json", key.as_str()) } else { format!("{app}/out/{}.json.gz", key.as_str()) };
            s3_parts(p, c, rng, Some(&object), matches!(api.req, Req::S3Put));
            Ok(())
        }
        Req::S3List => {
            let b = c.bucket;
            let _ = write!(p.req, "{{\"bucketName\":\"{b}\",\"Host\":\"{b}.s3.{region}.amazonaws.com\",\"list-type\":\"2\",\"prefix\":\"{app}/\",\"encoding-type\":\"url\"}}");
            s3_parts(p, c, rng, None, false);
            Ok(())
        }
        Req::LogStream => write!(r, "{{\"logGroupName\":\"/{env}/{app}\",\"logStreamName\":\"{inst}/{}\"}}", rng.hex::<8>().as_str()),
        Req::SsmUpdate => write!(r, "{{\"instanceId\":\"{inst}\",\"agentVersion\":\"3.3.131.0\",\"agentStatus\":\"Active\",\"platformType\":\"Linux\",\"platformName\":\"Amazon Linux\",\"platformVersion\":\"2\",\"iPAddress\":\"\",\"computerName\":\"\",\"agentName\":\"amazon-ssm-agent\",\"availabilityZone\":\"{region}a\",\"availabilityZoneId\":\"\"}}"),
        Req::SsmAssoc => write!(r, "{{\"instanceId\":\"{inst}\",\"maxResults\":50}}"),
        Req::DdbTable => write!(r, "{{\"tableName\":\"{env}-{app}-sessions\"}}"),
        Req::SelfEcs => write!(r, "{{\"cluster\":\"{env}-ecs\",\"containerInstance\":\"arn:aws:ecs:{region}:{acct}:container-instance/{env}-ecs/{}\"}}", inst.trim_start_matches("i-")),
        Req::EniAssign => write!(r, "{{\"networkInterfaceId\":\"{}\",\"secondaryPrivateIpAddressCount\":{}}}", c.eni, 1 + rng.below(4)),
    };
}

/// S3 data-event parts: parameters (unless already written), `additionalEventData`, `resources`.
fn s3_parts(p: &mut Parts, c: &Ctx<'_>, rng: &mut Rng, object: Option<&str>, put: bool) {
    let (b, region, acct) = (c.bucket, c.region, c.account);
    if let Some(key) = object {
        let _ = write!(
            p.req,
            "{{\"bucketName\":\"{b}\",\"Host\":\"{b}.s3.{region}.amazonaws.com\",\"key\":\"{key}\""
        );
        if put {
            p.req
                .push_str(",\"x-amz-server-side-encryption\":\"aws:kms\"");
        }
        p.req.push('}');
        let _ = write!(p.res, "[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::{b}/{key}\"}},{{\"accountId\":\"{acct}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{b}\"}}]");
    } else {
        let _ = write!(p.res, "[{{\"accountId\":\"{acct}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::{b}\"}}]");
    }
    let size = 200 + rng.below(400_000);
    let (inb, outb) = if put {
        (size, 0)
    } else {
        (
            0,
            if object.is_some() {
                size
            } else {
                1_000 + size % 4_000
            },
        )
    };
    let id2a = rng.b64::<60>();
    let id2b = rng.b64::<16>();
    let _ = write!(
        p.add,
        "{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":{inb},\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"{}{}=\",\"bytesTransferredOut\":{outb}}}",
        id2a.as_str(),
        id2b.as_str()
    );
}

/// The `errorCode` and `errorMessage` of a denied call by `arn`.
pub(crate) fn denied(api: &Api, arn: &str, out: &mut String) -> &'static str {
    out.clear();
    match api.svc {
        Svc::S3 if api.data => {
            out.push_str("Access Denied");
            "AccessDenied"
        }
        Svc::Ec2 => {
            let _ = write!(out, "You are not authorized to perform this operation. User: {arn} is not authorized to perform: ec2:{} because no identity-based policy allows the ec2:{} action", api.name, api.name);
            "Client.UnauthorizedOperation"
        }
        svc => {
            let action = api.name.trim_end_matches("20150331");
            let _ = write!(out, "User: {arn} is not authorized to perform: {}:{action} because no identity-based policy allows the {}:{action} action", svc.prefix(), svc.prefix());
            "AccessDenied"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::profiles::*;
    use super::*;

    #[test]
    fn every_call_renders_valid_json() {
        let mut rng = Rng::new(9);
        let c = Ctx {
            account: "111122223333",
            region: "us-east-1",
            env: "prod",
            app: "web",
            instance: "i-0123456789abcdef0",
            eni: "eni-0123456789abcdef0",
            bucket: "prod-web-data",
            kms_key: "1234abcd-12ab-34cd-56ef-1234567890ab",
        };
        let mut p = Parts::default();
        for table in [
            AGENT, WEB, WORKER, BATCH, UTILITY, CI, EKS_NODE, DEVBOX, SERVERLESS, PERSON, VPC_CNI,
            ECR_CRED, CW_AGENT, ECS_AGENT,
        ] {
            for (_, api) in table {
                render(api, &c, &mut rng, &mut p);
                for part in [&p.req, &p.res, &p.add] {
                    if !part.is_empty() {
                        assert!(
                            serde_json::from_str::<serde_json::Value>(part).is_ok(),
                            "{}: {part}",
                            api.name
                        );
                    }
                }
                assert_eq!(api.data, api.svc == Svc::S3 && api.name != "ListBuckets");
            }
        }
        let mut msg = String::new();
        assert_eq!(denied(&WEB[0].1, "arn:x", &mut msg), "AccessDenied");
        assert_eq!(msg, "Access Denied");
    }
}
