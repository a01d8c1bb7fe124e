//! Who works in the organisation: per account the standard roles (organisation access, audit, CI deploy,
//! automation, service-linked roles, SSO permission sets, Lambda/ECS/EKS roles), IAM users with long-term
//! keys (developers working from an office or home, an on-premises backup agent), and SSO people.
use super::addr;
use super::clients;
use super::org::{Kind::*, Org, Person, User};
use super::rng::Rng;

impl Org {
    pub(crate) fn build_people(&mut self, rng: &mut Rng, instances: u32) {
        const FIRST: [&str; 16] = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
            "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
        ];
        const LAST: [&str; 8] = [
            "martin", "nguyen", "kowalski", "okafor", "schmidt", "garcia", "tanaka", "dubois",
        ];
        for ai in 0..self.accounts.len() {
            let a_num = self.accounts[ai].num;
            let a_id = self.accounts[ai].id.clone();
            for name in [
                "OrganizationAccountAccessRole",
                "security-audit",
                "ci-deploy",
                "ops-automation",
            ] {
                if ai != 0 || name == "security-audit" {
                    self.add_role(rng, ai, "", name);
                }
            }
            self.add_role(
                rng,
                ai,
                "aws-service-role/autoscaling.amazonaws.com/",
                "AWSServiceRoleForAutoScaling",
            );
            self.add_role(
                rng,
                ai,
                "aws-service-role/config.amazonaws.com/",
                "AWSServiceRoleForConfig",
            );
            let env = self.accounts[ai].name.clone();
            match self.accounts[ai].kind {
                Management => {
                    self.add_role(rng, ai, "service-role/", "CloudTrailRoleForCloudWatchLogs");
                }
                Shared => {
                    self.add_role(rng, ai, "", "github-actions-deployer");
                }
                _ => {
                    for name in [
                        "thumbnailer-lambda-role",
                        "report-lambda-role",
                        "api-task-role",
                        "payments-irsa",
                        "orders-irsa",
                    ] {
                        self.add_role(rng, ai, "", &format!("{env}-{name}"));
                    }
                }
            }
            for ps in ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess"] {
                let name = format!("AWSReservedSSO_{ps}_{}", rng.hex::<16>().as_str());
                self.add_role(rng, ai, "aws-reserved/sso.amazonaws.com/", &name);
            }
            let kind = self.accounts[ai].kind;
            let n_users = match kind {
                Shared | Dev => 2 + (instances / 80) as usize,
                Prod => 1,
                _ => 0,
            };
            for u in 0..n_users {
                let (bot, name) = if kind == Prod {
                    (true, "backup-agent".to_string())
                } else {
                    (
                        false,
                        format!("{}.{}", FIRST[(ai * 5 + u) % 16], LAST[(u * 3 + ai) % 8]),
                    )
                };
                let home = addr::residential(rng).0.to_string();
                let office = self.offices[rng.index(self.offices.len())].clone();
                let client = if bot {
                    &clients::ONPREM_BACKUP
                } else {
                    &clients::DESKTOP_CLI[u % clients::DESKTOP_CLI.len()]
                };
                let ips = if bot {
                    vec![office]
                } else {
                    vec![office, home]
                };
                self.users.push(User {
                    acct: ai,
                    id: rng.unique_id("AIDA", a_num).as_str().to_string(),
                    arn: format!("arn:aws:iam::{a_id}:user/{name}"),
                    key: rng.aws_key("AKIA", a_num).as_str().to_string(),
                    name,
                    ips,
                    client,
                    console: !bot && u % 2 == 0,
                });
            }
        }
        let sso_roles: Vec<usize> = self
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.name.starts_with("AWSReservedSSO_"))
            .map(|(i, _)| i)
            .collect();
        let n_people = 6 + (instances / 40) as usize;
        for p in 0..n_people {
            let email = format!("{}.{}@hound-corp.com", FIRST[p % 16], LAST[(p / 2) % 8]);
            let ips = vec![
                self.offices[p % self.offices.len()].clone(),
                addr::residential(rng).0.to_string(),
            ];
            let roles = (0..3)
                .map(|_| sso_roles[rng.index(sso_roles.len())])
                .collect();
            self.people.push(Person { email, ips, roles });
        }
    }
}
