//! Call profiles: which calls each kind of workload makes, and how often relative to each other.
//!
//! Weights are relative within a table; the tables are what makes a role's behaviour stable and
//! learnable (a web service reads objects and parameters, a worker moves objects and data keys, the
//! SSM agent reports in every few minutes).
use super::calls::{Api, Req, Svc};

const fn m(svc: Svc, name: &'static str, ro: bool, req: Req) -> Api {
    Api {
        svc,
        name,
        ro,
        data: false,
        req,
    }
}

const fn d(svc: Svc, name: &'static str, ro: bool, req: Req) -> Api {
    Api {
        svc,
        name,
        ro,
        data: true,
        req,
    }
}

/// Calls of the SSM agent (every instance).
pub(crate) static AGENT: &[(u32, Api)] = &[
    (
        6,
        m(Svc::Ssm, "UpdateInstanceInformation", false, Req::SsmUpdate),
    ),
    (
        3,
        m(Svc::Ssm, "ListInstanceAssociations", true, Req::SsmAssoc),
    ),
];

/// A web service: configuration, secrets, objects.
pub(crate) static WEB: &[(u32, Api)] = &[
    (30, d(Svc::S3, "GetObject", true, Req::S3Get)),
    (6, d(Svc::S3, "PutObject", false, Req::S3Put)),
    (8, m(Svc::Ssm, "GetParameter", true, Req::SsmParam)),
    (4, m(Svc::Secrets, "GetSecretValue", true, Req::Secret)),
    (6, m(Svc::Kms, "Decrypt", true, Req::KmsDecrypt)),
    (3, m(Svc::Dynamodb, "DescribeTable", true, Req::DdbTable)),
    (2, m(Svc::Logs, "CreateLogStream", false, Req::LogStream)),
    (1, m(Svc::Sts, "GetCallerIdentity", true, Req::Null)),
];

/// A queue worker: objects in, objects out, data keys.
pub(crate) static WORKER: &[(u32, Api)] = &[
    (20, d(Svc::S3, "GetObject", true, Req::S3Get)),
    (20, d(Svc::S3, "PutObject", false, Req::S3Put)),
    (6, d(Svc::S3, "ListObjects", true, Req::S3List)),
    (8, m(Svc::Kms, "GenerateDataKey", true, Req::KmsGdk)),
    (4, m(Svc::Kms, "Decrypt", true, Req::KmsDecrypt)),
    (2, m(Svc::Ec2, "DescribeTags", true, Req::SelfTags)),
    (
        1,
        m(
            Svc::Autoscaling,
            "DescribeAutoScalingInstances",
            true,
            Req::AsgSelf,
        ),
    ),
];

/// A batch job in an isolated subnet (only services with VPC endpoints).
pub(crate) static BATCH: &[(u32, Api)] = &[
    (20, d(Svc::S3, "GetObject", true, Req::S3Get)),
    (14, d(Svc::S3, "PutObject", false, Req::S3Put)),
    (6, m(Svc::Kms, "GenerateDataKey", true, Req::KmsGdk)),
    (4, m(Svc::Ssm, "GetParameter", true, Req::SsmParam)),
    (2, m(Svc::Logs, "CreateLogStream", false, Req::LogStream)),
    (1, m(Svc::Sts, "GetCallerIdentity", true, Req::Null)),
];

/// A bastion or utility host running the CLI from cron.
pub(crate) static UTILITY: &[(u32, Api)] = &[
    (
        6,
        m(
            Svc::Ec2,
            "DescribeInstances",
            true,
            Req::Fixed("{\"instancesSet\":{},\"filterSet\":{}}"),
        ),
    ),
    (4, d(Svc::S3, "PutObject", false, Req::S3Put)),
    (3, d(Svc::S3, "ListObjects", true, Req::S3List)),
    (2, m(Svc::Sts, "GetCallerIdentity", true, Req::Null)),
    (
        1,
        m(
            Svc::Ec2,
            "DescribeVolumes",
            true,
            Req::Fixed("{\"volumeSet\":{},\"filterSet\":{}}"),
        ),
    ),
];

/// A CI server: images, artefacts, stacks (cross-account role assumption is separate).
pub(crate) static CI: &[(u32, Api)] = &[
    (6, m(Svc::Ecr, "GetAuthorizationToken", true, Req::Null)),
    (8, d(Svc::S3, "PutObject", false, Req::S3Put)),
    (4, d(Svc::S3, "GetObject", true, Req::S3Get)),
    (
        3,
        m(
            Svc::Cloudformation,
            "DescribeStacks",
            true,
            Req::Fixed("{\"stackName\":\"platform-core\"}"),
        ),
    ),
    (1, m(Svc::Sts, "GetCallerIdentity", true, Req::Null)),
];

/// An EKS worker node's kubelet and cloud provider: instance metadata, its Auto Scaling group.
pub(crate) static EKS_NODE: &[(u32, Api)] = &[
    (8, m(Svc::Ec2, "DescribeInstances", true, Req::SelfInstance)),
    (
        1,
        m(
            Svc::Autoscaling,
            "DescribeAutoScalingInstances",
            true,
            Req::AsgSelf,
        ),
    ),
];

/// The VPC CNI's ipamd on an EKS node: its ENIs and pod addresses.
pub(crate) static VPC_CNI: &[(u32, Api)] = &[
    (4, m(Svc::Ec2, "DescribeNetworkInterfaces", true, Req::Fixed("{\"networkInterfaceIdSet\":{},\"filterSet\":{\"items\":[{\"name\":\"tag-key\",\"valueSet\":{\"items\":[{\"value\":\"cluster.k8s.amazonaws.com/name\"}]}}]}}"))),
    (3, m(Svc::Ec2, "DescribeInstances", true, Req::SelfInstance)),
    (2, m(Svc::Ec2, "AssignPrivateIpAddresses", false, Req::EniAssign)),
];

/// kubelet's ECR credential provider: registry tokens for image pulls.
pub(crate) static ECR_CRED: &[(u32, Api)] =
    &[(1, m(Svc::Ecr, "GetAuthorizationToken", true, Req::Null))];

/// The CloudWatch agent: the instance's tags at start (ec2tagger), its log streams. (`PutMetricData` and
/// `PutLogEvents`, its bulk, are not management events: CloudTrail does not log them.)
pub(crate) static CW_AGENT: &[(u32, Api)] = &[
    (2, m(Svc::Ec2, "DescribeTags", true, Req::SelfTags)),
    (3, m(Svc::Logs, "CreateLogStream", false, Req::LogStream)),
    (2, m(Svc::Logs, "DescribeLogStreams", true, Req::LogStream)),
];

/// The ECS container agent on a container instance.
pub(crate) static ECS_AGENT: &[(u32, Api)] = &[
    (8, m(Svc::Ecs, "DiscoverPollEndpoint", true, Req::SelfEcs)),
    (3, m(Svc::Ecs, "SubmitTaskStateChange", false, Req::SelfEcs)),
    (
        2,
        m(Svc::Ecs, "SubmitContainerStateChange", false, Req::SelfEcs),
    ),
    (2, m(Svc::Ecr, "GetAuthorizationToken", true, Req::Null)),
];

/// A developer's box in the dev account.
pub(crate) static DEVBOX: &[(u32, Api)] = &[
    (5, d(Svc::S3, "GetObject", true, Req::S3Get)),
    (3, d(Svc::S3, "ListObjects", true, Req::S3List)),
    (
        3,
        m(
            Svc::Ec2,
            "DescribeInstances",
            true,
            Req::Fixed("{\"instancesSet\":{},\"filterSet\":{}}"),
        ),
    ),
    (2, m(Svc::Ssm, "GetParameter", true, Req::SsmParam)),
    (1, m(Svc::Sts, "GetCallerIdentity", true, Req::Null)),
];

/// A Lambda function or ECS task.
pub(crate) static SERVERLESS: &[(u32, Api)] = &[
    (10, d(Svc::S3, "GetObject", true, Req::S3Get)),
    (6, d(Svc::S3, "PutObject", false, Req::S3Put)),
    (6, m(Svc::Kms, "Decrypt", true, Req::KmsDecrypt)),
    (4, m(Svc::Ssm, "GetParameter", true, Req::SsmParam)),
    (3, m(Svc::Secrets, "GetSecretValue", true, Req::Secret)),
    (2, m(Svc::Dynamodb, "DescribeTable", true, Req::DdbTable)),
];

/// A person's CLI and console work.
pub(crate) static PERSON: &[(u32, Api)] = &[
    (
        8,
        m(
            Svc::Ec2,
            "DescribeInstances",
            true,
            Req::Fixed("{\"instancesSet\":{},\"filterSet\":{}}"),
        ),
    ),
    (
        4,
        m(
            Svc::Ec2,
            "DescribeSecurityGroups",
            true,
            Req::Fixed("{\"securityGroupSet\":{},\"securityGroupIdSet\":{},\"filterSet\":{}}"),
        ),
    ),
    (
        3,
        m(
            Svc::Logs,
            "DescribeLogGroups",
            true,
            Req::Fixed("{\"limit\":50}"),
        ),
    ),
    (
        3,
        m(
            Svc::S3,
            "ListBuckets",
            true,
            Req::Fixed("{\"Host\":\"s3.amazonaws.com\"}"),
        ),
    ),
    (3, m(Svc::Cloudformation, "DescribeStacks", true, Req::Null)),
    (2, m(Svc::Iam, "ListRoles", true, Req::Null)),
    (2, m(Svc::Lambda, "ListFunctions20150331", true, Req::Null)),
    (2, m(Svc::Sts, "GetCallerIdentity", true, Req::Null)),
    (1, m(Svc::Ssm, "GetParameter", true, Req::SsmParam)),
];
