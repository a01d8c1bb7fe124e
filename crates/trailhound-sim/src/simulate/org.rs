//! The simulated organisation: accounts, their networks (VPCs, NAT gateways, VPC endpoints), roles,
//! people, and the workload groups that instances are launched into.
//!
//! Built once from the seed before any event is written; everything is addressed by index (no maps
//! whose iteration order could leak into the output).
use super::addr;
use super::calls::Svc;
use super::clients::Client;
use super::rng::Rng;
pub(crate) use super::specs::{Spec, SPECS};
use Kind::*;

/// What an account is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The organisation's management account (SSO, billing, the organisation trail).
    Management,
    /// Shared services: CI/CD, bastions, the CI identity provider.
    Shared,
    /// Production workloads.
    Prod,
    /// Staging.
    Staging,
    /// Developers' sandbox.
    Dev,
    /// Data processing.
    Data,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Management => "management",
            Kind::Shared => "shared-services",
            Kind::Prod => "prod",
            Kind::Staging => "staging",
            Kind::Dev => "dev",
            Kind::Data => "data",
        }
    }
}

/// A member account.
pub(crate) struct Account {
    /// Twelve digits.
    pub id: String,
    /// The id as a number (encoded in access keys).
    pub num: u64,
    /// Short name (`prod`, `prod-2`, …).
    pub name: String,
    /// What it is for.
    pub kind: Kind,
    /// Regions with workloads (indexes into `addr::EC2`); the first is its home region.
    pub regions: Vec<usize>,
}

/// An IAM role.
pub(crate) struct Role {
    /// Owning account (index).
    pub acct: usize,
    /// Role name.
    pub name: String,
    /// `AROA…`.
    pub id: String,
    /// `arn:aws:iam::<acct>:role/<path><name>`.
    pub arn: String,
}

/// How instances of a group reach AWS APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A public subnet: an auto-assigned public IP (or an Elastic IP).
    Public,
    /// A private subnet behind its AZ's NAT gateway; VPC endpoints where the VPC has them.
    Nat,
    /// An isolated subnet: only services with VPC endpoints, from the private address.
    Isolated,
}

/// A subnet.
pub(crate) struct Subnet {
    /// `subnet-…`.
    pub id: String,
    /// Availability zone suffix (`a`, `b`).
    pub az: char,
    /// Third octet of its first /24.
    pub third: u8,
    /// Which kind.
    pub mode: Mode,
    /// Hosts handed out so far.
    pub next_host: u32,
}

/// A NAT gateway and its Elastic IP.
pub(crate) struct Nat {
    /// `nat-…`.
    pub id: String,
    /// `eipalloc-…`.
    pub alloc: String,
    /// The Elastic IP every instance behind it calls from.
    pub eip: String,
    /// The public subnet it lives in (index in `Net::subnets`).
    pub subnet: usize,
    /// Availability zone suffix.
    pub az: char,
}

/// A VPC endpoint.
pub(crate) struct Vpce {
    /// `vpce-…`.
    pub id: String,
    /// The service it serves.
    pub svc: Svc,
    /// Gateway (S3) or interface endpoint.
    pub gateway: bool,
}

/// One account's VPC in one region.
pub(crate) struct Net {
    /// Account (index).
    pub acct: usize,
    /// Region (index into `addr::EC2`).
    pub region: usize,
    /// `vpc-…`.
    pub vpc: String,
    /// Second octet of its 10.x.0.0/16.
    pub second: u8,
    /// Public a/b, private a/b, isolated a.
    pub subnets: Vec<Subnet>,
    /// One NAT gateway per AZ (public subnets a/b).
    pub nats: Vec<Nat>,
    /// VPC endpoints (production and data accounts).
    pub vpces: Vec<Vpce>,
    /// The default security group.
    pub sg: String,
    /// Dual-stack: the VPC's Amazon-provided IPv6 /56 (subnet `k` has the `k`th /64).
    pub v6: Option<u128>,
}

impl Net {
    /// The endpoint serving `svc`, if the VPC has one.
    pub(crate) fn vpce(&self, svc: Svc) -> Option<&Vpce> {
        self.vpces.iter().find(|v| v.svc == svc)
    }
}

/// A workload group in one account and region.
pub(crate) struct Group {
    /// Account (index).
    pub acct: usize,
    /// Region (index).
    pub region: usize,
    /// Network (index into `Org::nets`).
    pub net: usize,
    /// Its spec (index into `SPECS`).
    pub spec: usize,
    /// Its instance role (index into `Org::roles`).
    pub role: usize,
    /// `<account>-<app>`.
    pub name: String,
    /// `lt-…`.
    pub template: String,
    /// `ami-…`.
    pub ami: String,
    /// Its bucket.
    pub bucket: String,
    /// Its KMS key id.
    pub kms_key: String,
    /// Desired number of instances.
    pub size: u32,
    /// Elastic IPs allocated before the logs begin, which instances associate at boot (`eip_pool`).
    pub pool: Vec<PoolEip>,
}

/// One Elastic IP of a group's pool.
pub(crate) struct PoolEip {
    /// `eipalloc-…`.
    pub alloc: String,
    /// Its address.
    pub eip: String,
    /// The instance holding it.
    pub holder: Option<usize>,
    /// The event id of its last `DisassociateAddress`, if its last holder released it explicitly.
    pub released_by: Option<String>,
}

/// A person or bot with an IAM user and a long-term access key.
pub(crate) struct User {
    /// Account (index).
    pub acct: usize,
    /// User name.
    pub name: String,
    /// `AIDA…`.
    pub id: String,
    /// User ARN.
    pub arn: String,
    /// `AKIA…`.
    pub key: String,
    /// Usual addresses (office first).
    pub ips: Vec<String>,
    /// Their client.
    pub client: &'static Client,
    /// Signs in to the console too.
    pub console: bool,
}

/// A person signing in through SAML single sign-on.
pub(crate) struct Person {
    /// `first.last@…`.
    pub email: String,
    /// Office and home addresses.
    pub ips: Vec<String>,
    /// Permission-set roles they use (indexes into `Org::roles`).
    pub roles: Vec<usize>,
}

/// The whole organisation.
pub(crate) struct Org {
    /// `o-…`.
    pub id: String,
    /// Accounts; index 0 is the management account, 1 shared services.
    pub accounts: Vec<Account>,
    /// Accounts outside the organisation (attackers' own).
    pub outsiders: Vec<Account>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Networks.
    pub nets: Vec<Net>,
    /// Workload groups.
    pub groups: Vec<Group>,
    /// IAM users.
    pub users: Vec<User>,
    /// SSO people.
    pub people: Vec<Person>,
    /// Office egress addresses.
    pub offices: Vec<String>,
    /// The SAML provider's name qualifier.
    pub saml_qualifier: String,
}

fn account(rng: &mut Rng, name: String, kind: Kind, regions: Vec<usize>) -> Account {
    let num = 100_000_000_000 + rng.below(899_999_999_999);
    Account {
        id: num.to_string(),
        num,
        name,
        kind,
        regions,
    }
}

/// The kinds of `n` accounts (at least 3): management, shared services, prod, staging, dev, data, then more
/// application accounts.
fn kinds(n: usize) -> Vec<(Kind, String)> {
    let base = [Management, Shared, Prod, Staging, Dev, Data];
    let mut out: Vec<(Kind, String)> = base
        .iter()
        .take(n.max(3))
        .map(|k| (*k, k.name().to_string()))
        .collect();
    let extra = [Prod, Dev, Data, Staging];
    for i in out.len()..n {
        let k = extra[(i - base.len()) % extra.len()];
        out.push((
            k,
            format!("{}-{}", k.name(), 2 + (i - base.len()) / extra.len()),
        ));
    }
    out
}

fn home_regions(kind: Kind, i: usize) -> Vec<usize> {
    let r = |name| addr::region_index(name).unwrap_or(0);
    match kind {
        Management | Shared => vec![r("us-east-1")],
        Prod if i == 2 => vec![r("us-east-1"), r("eu-west-1")],
        Staging => vec![r("us-east-2")],
        Dev => vec![r("us-west-2")],
        Data => vec![r("eu-central-1"), r("ap-southeast-2")],
        Prod => vec![(i * 2 + 1) % addr::EC2.len()],
    }
}

impl Org {
    /// Adds a role and returns its index.
    pub(crate) fn add_role(&mut self, rng: &mut Rng, acct: usize, path: &str, name: &str) -> usize {
        let a = &self.accounts[acct];
        let id = rng.unique_id("AROA", a.num).as_str().to_string();
        let arn = format!("arn:aws:iam::{}:role/{path}{name}", a.id);
        self.roles.push(Role {
            acct,
            name: name.to_string(),
            id,
            arn,
        });
        self.roles.len() - 1
    }

    /// The role named `name` in account `acct`.
    pub(crate) fn role(&self, acct: usize, name: &str) -> Option<usize> {
        self.roles
            .iter()
            .position(|r| r.acct == acct && r.name == name)
    }

    /// Builds an organisation of `n_accounts` accounts sized for about `instances` instances.
    pub(crate) fn build(rng: &mut Rng, n_accounts: usize, instances: u32) -> Org {
        let org_id = format!("o-{}", rng.hex::<10>().as_str());
        let accounts: Vec<Account> = kinds(n_accounts)
            .into_iter()
            .enumerate()
            .map(|(i, (k, name))| account(rng, name, k, home_regions(k, i)))
            .collect();
        let outsiders = vec![
            account(rng, "attacker-1".into(), Dev, vec![0]),
            account(rng, "attacker-2".into(), Dev, vec![3]),
        ];
        let offices: Vec<String> = (0..6)
            .map(|_| addr::residential(rng).0.to_string())
            .collect();
        let mut org = Org {
            id: org_id,
            accounts,
            outsiders,
            roles: vec![],
            nets: vec![],
            groups: vec![],
            users: vec![],
            people: vec![],
            offices,
            saml_qualifier: String::new(),
        };
        org.saml_qualifier = format!("{}=", rng.b64::<27>().as_str());
        org.build_groups(rng, instances);
        org.build_people(rng, instances);
        org
    }

    fn net_for(&mut self, rng: &mut Rng, acct: usize, region: usize) -> usize {
        if let Some(i) = self
            .nets
            .iter()
            .position(|n| n.acct == acct && n.region == region)
        {
            return i;
        }
        let second = (self.nets.len() * 7 + 16) as u8;
        let mut sub = |az: char, third: u8, mode: Mode| Subnet {
            id: format!("subnet-{}", rng.hex::<17>().as_str()),
            az,
            third,
            mode,
            next_host: 0,
        };
        let subnets = vec![
            sub('a', 0, Mode::Public),
            sub('b', 16, Mode::Public),
            sub('a', 128, Mode::Nat),
            sub('b', 144, Mode::Nat),
            sub('a', 192, Mode::Isolated),
        ];
        let nats = ['a', 'b']
            .iter()
            .enumerate()
            .map(|(i, az)| Nat {
                id: format!("nat-{}", rng.hex::<17>().as_str()),
                alloc: format!("eipalloc-{}", rng.hex::<17>().as_str()),
                eip: addr::ec2(rng, region).to_string(),
                subnet: i,
                az: *az,
            })
            .collect();
        let kind = self.accounts[acct].kind;
        let vpces = if matches!(kind, Prod | Data) {
            [
                (Svc::S3, true),
                (Svc::Sts, false),
                (Svc::Kms, false),
                (Svc::Ssm, false),
                (Svc::Secrets, false),
                (Svc::Logs, false),
                (Svc::Ecr, false),
            ]
            .iter()
            .map(|(svc, gateway)| Vpce {
                id: format!("vpce-{}", rng.hex::<17>().as_str()),
                svc: *svc,
                gateway: *gateway,
            })
            .collect()
        } else {
            vec![]
        };
        let vpc = format!("vpc-{}", rng.hex::<17>().as_str());
        let sg = format!("sg-{}", rng.hex::<17>().as_str());
        // Dual-stack VPCs (issue 13): the accounts without VPC endpoints (S3 gateway endpoints are
        // IPv4-only there), so their instances reach S3's dual-stack endpoints over IPv6 directly.
        let v6 = matches!(kind, Shared | Staging | Dev).then(|| addr::vpc_v6(rng, region));
        self.nets.push(Net {
            acct,
            region,
            vpc,
            second,
            subnets,
            nats,
            vpces,
            sg,
            v6,
        });
        self.nets.len() - 1
    }

    fn build_groups(&mut self, rng: &mut Rng, instances: u32) {
        let mut slots = vec![];
        for (ai, a) in self.accounts.iter().enumerate() {
            for (si, spec) in SPECS.iter().enumerate() {
                if spec.kinds.contains(&a.kind) {
                    // Singletons (bastion, jenkins) only in the home region.
                    let regions = if spec.weight == 0 {
                        &a.regions[..1]
                    } else {
                        &a.regions[..]
                    };
                    for r in regions {
                        slots.push((ai, *r, si));
                    }
                }
            }
        }
        let total_weight: u32 = slots.iter().map(|s| SPECS[s.2].weight).sum::<u32>().max(1);
        for (acct, region, spec) in slots {
            let net = self.net_for(rng, acct, region);
            let s = &SPECS[spec];
            let size = if s.weight == 0 {
                1
            } else {
                (instances * s.weight / total_weight).max(1)
            };
            let env = self.accounts[acct].name.clone();
            let role = self.add_role(rng, acct, "", &format!("{env}-{}-role", s.app));
            let rname = addr::EC2[region].0;
            let pool = if s.eip_pool {
                (0..size + 2)
                    .map(|_| PoolEip {
                        alloc: format!("eipalloc-0{}", rng.hex::<16>().as_str()),
                        eip: addr::ec2(rng, region).to_string(),
                        holder: None,
                        released_by: None,
                    })
                    .collect()
            } else {
                vec![]
            };
            self.groups.push(Group {
                acct,
                region,
                net,
                spec,
                role,
                name: format!("{env}-{}", s.app),
                template: format!("lt-{}", rng.hex::<17>().as_str()),
                ami: format!("ami-{}", rng.hex::<17>().as_str()),
                bucket: format!("{env}-{}-{rname}-{}", s.app, &self.accounts[acct].id[8..]),
                kms_key: rng.uuid().as_str().to_string(),
                size,
                pool,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_is_deterministic_and_complete() {
        let a = Org::build(&mut Rng::new(42), 6, 60);
        let b = Org::build(&mut Rng::new(42), 6, 60);
        assert_eq!(a.id, b.id);
        assert_eq!(a.accounts.len(), 6);
        assert_eq!(
            a.accounts.iter().map(|x| &x.id).collect::<Vec<_>>(),
            b.accounts.iter().map(|x| &x.id).collect::<Vec<_>>()
        );
        assert!(a.groups.iter().any(|g| SPECS[g.spec].app == "jenkins"));
        assert!(a.nets.iter().any(|n| !n.vpces.is_empty()));
        assert!(a.accounts.iter().all(|x| x.id.len() == 12));
        let total: u32 = a.groups.iter().map(|g| g.size).sum();
        assert!((40..=90).contains(&total), "{total}");
        assert!(!a.users.is_empty() && !a.people.is_empty());
        let many = Org::build(&mut Rng::new(1), 11, 10);
        assert_eq!(many.accounts.len(), 11);
        assert_eq!(many.accounts[10].name, "prod-3");
    }
}
