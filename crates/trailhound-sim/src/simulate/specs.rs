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
}

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
    },
];
