//! The workload catalogue: what runs on instances in each kind of account, how it reaches AWS (public
//! subnet, NAT gateway, VPC endpoints), which SDK it uses, whether its application still fetches IMDSv1
//! credentials, how it is launched, and how busy it is.
use super::calls::Api;
use super::clients::{self, Client};
use super::org::{Kind, Mode};
use super::profiles;

/// What a workload group is: network placement, calls, client, IMDS use, size.
pub(crate) struct Spec {
    /// Workload name.
    pub app: &'static str,
    /// Account kinds it runs in.
    pub kinds: &'static [Kind],
    /// Network placement.
    pub mode: Mode,
    /// Launched and terminated by an Auto Scaling group (otherwise by people, by hand).
    pub asg: bool,
    /// Share of the fleet (0: exactly one instance per account and region).
    pub weight: u32,
    /// The calls it makes.
    pub calls: &'static [(u32, Api)],
    /// Its SDK.
    pub client: &'static Client,
    /// Share of its instances whose application still fetches IMDSv1 credentials.
    pub v1_share: f64,
    /// Instance type.
    pub itype: &'static str,
    /// Gets an Elastic IP (AllocateAddress + AssociateAddress).
    pub eip: bool,
    /// Stopped in the evening and started in the morning (a new public IP each time).
    pub stop_start: bool,
    /// Application calls per hour per instance (before scaling to the requested volume).
    pub rate: f64,
    /// Associates an Elastic IP of the group's pool at boot with its own credentials (issue 13).
    pub eip_pool: bool,
    /// AWS agents it runs besides the SSM agent (CloudWatch, VPC CNI, ECR credential provider).
    pub agents: &'static [&'static Agent],
    /// Presigned-URL download episodes per hour per instance (URLs it signs for end users).
    pub presign: f64,
}

/// An AWS agent on an instance: its client, its calls, its rate (calls per hour).
pub(crate) struct Agent {
    /// Its user agent (matching `data/useragent-aws-agents.tsv`).
    pub client: &'static Client,
    /// Its calls.
    pub calls: &'static [(u32, Api)],
    /// Calls per hour (before scaling).
    pub rate: f64,
}

/// The CloudWatch agent (tags at start, log streams on rotation).
pub(crate) static CW_AGENT: Agent = Agent {
    client: &clients::CW_AGENT,
    calls: profiles::CW_AGENT,
    rate: 3.0,
};
/// The VPC CNI's ipamd on an EKS node.
pub(crate) static VPC_CNI: Agent = Agent {
    client: &clients::VPC_CNI,
    calls: profiles::VPC_CNI,
    rate: 8.0,
};
/// kubelet's ECR credential provider on an EKS node.
pub(crate) static ECR_CRED: Agent = Agent {
    client: &clients::ECR_CRED,
    calls: profiles::ECR_CRED,
    rate: 2.0,
};

use Kind::*;

/// The workload catalogue.
pub(crate) static SPECS: &[Spec] = &[
    Spec {
        app: "web",
        kinds: &[Prod, Staging, Data, Dev],
        mode: Mode::Nat,
        asg: true,
        weight: 6,
        calls: profiles::WEB,
        client: &clients::JAVA2,
        v1_share: 0.0,
        itype: "m6i.large",
        eip: false,
        stop_start: false,
        rate: 120.0,
        eip_pool: false,
        agents: &[&CW_AGENT],
        presign: 6.0,
    },
    Spec {
        app: "legacy-api",
        kinds: &[Prod, Staging],
        mode: Mode::Public,
        asg: true,
        weight: 2,
        calls: profiles::WEB,
        client: &clients::BOTO3_OLD,
        v1_share: 1.0,
        itype: "t3.medium",
        eip: false,
        stop_start: false,
        rate: 90.0,
        eip_pool: false,
        agents: &[],
        presign: 3.0,
    },
    Spec {
        app: "worker",
        kinds: &[Prod, Data],
        mode: Mode::Nat,
        asg: true,
        weight: 4,
        calls: profiles::WORKER,
        client: &clients::BOTO3,
        v1_share: 0.3,
        itype: "c6i.xlarge",
        eip: false,
        stop_start: false,
        rate: 200.0,
        eip_pool: false,
        agents: &[&CW_AGENT],
        presign: 0.0,
    },
    Spec {
        app: "batch",
        kinds: &[Data, Prod],
        mode: Mode::Isolated,
        asg: false,
        weight: 2,
        calls: profiles::BATCH,
        client: &clients::GO2,
        v1_share: 0.0,
        itype: "r6i.large",
        eip: false,
        stop_start: false,
        rate: 150.0,
        eip_pool: false,
        agents: &[],
        presign: 0.0,
    },
    Spec {
        app: "eks-node",
        kinds: &[Prod],
        mode: Mode::Nat,
        asg: true,
        weight: 3,
        calls: profiles::EKS_NODE,
        client: &clients::GO1_NODE,
        v1_share: 0.0,
        itype: "m6i.2xlarge",
        eip: false,
        stop_start: false,
        rate: 60.0,
        eip_pool: false,
        agents: &[&VPC_CNI, &ECR_CRED],
        presign: 0.0,
    },
    Spec {
        app: "devbox",
        kinds: &[Dev],
        mode: Mode::Public,
        asg: false,
        weight: 2,
        calls: profiles::DEVBOX,
        client: &clients::CLI_INSTANCE,
        v1_share: 0.5,
        itype: "t3.large",
        eip: false,
        stop_start: true,
        rate: 30.0,
        eip_pool: false,
        agents: &[],
        presign: 0.0,
    },
    Spec {
        app: "bastion",
        kinds: &[Shared, Prod],
        mode: Mode::Public,
        asg: false,
        weight: 0,
        calls: profiles::UTILITY,
        client: &clients::CLI_INSTANCE,
        v1_share: 0.0,
        itype: "t3.micro",
        eip: true,
        stop_start: false,
        rate: 10.0,
        eip_pool: false,
        agents: &[],
        presign: 0.0,
    },
    Spec {
        app: "jenkins",
        kinds: &[Shared],
        mode: Mode::Public,
        asg: false,
        weight: 0,
        calls: profiles::CI,
        client: &clients::JAVA1,
        v1_share: 0.0,
        itype: "m5.xlarge",
        eip: false,
        stop_start: false,
        rate: 40.0,
        eip_pool: false,
        agents: &[],
        presign: 0.0,
    },
    Spec {
        app: "edge",
        kinds: &[Prod, Staging],
        mode: Mode::Public,
        asg: true,
        weight: 2,
        calls: profiles::WEB,
        client: &clients::GO2,
        v1_share: 0.0,
        itype: "c6gn.large",
        eip: false,
        stop_start: false,
        rate: 80.0,
        eip_pool: true,
        agents: &[&CW_AGENT],
        presign: 2.0,
    },
    Spec {
        app: "ecs-host",
        kinds: &[Prod, Staging],
        mode: Mode::Nat,
        asg: true,
        weight: 2,
        calls: profiles::ECS_AGENT,
        client: &clients::ECS_AGENT,
        v1_share: 0.0,
        itype: "m6i.xlarge",
        eip: false,
        stop_start: false,
        rate: 40.0,
        eip_pool: false,
        agents: &[&CW_AGENT],
        presign: 0.0,
    },
];
