//! Remediation text and commands shared by the findings about stolen role credentials.
use serde_json::json;

use crate::event::{role_name, Delivery};
use crate::finding::{Finding, Remediation};
use crate::time::EventTime;

/// What an analyst does about a role credential used where it should not be.
pub struct StolenRole<'a> {
    /// Role ARN (`arn:aws:iam::…:role/…`).
    pub role_arn: Option<&'a str>,
    /// The instance it was issued to.
    pub instance_id: Option<&'a str>,
    /// Region of the instance or evidence.
    pub region: &'a str,
    /// The stolen key.
    pub access_key_id: &'a str,
    /// IMDS delivery of the key.
    pub delivery: Option<Delivery>,
    /// Revoke sessions issued before this time (the last evidence).
    pub revoke_before: EventTime,
}

impl<'a> StolenRole<'a> {
    /// The stolen role credential a finding is about: its role, instance, region and key.
    pub fn of(finding: &'a Finding, delivery: Option<Delivery>, revoke_before: EventTime) -> Self {
        StolenRole {
            role_arn: finding.role_arn.as_deref(),
            instance_id: finding.instance_id.as_deref(),
            region: &finding.region,
            access_key_id: &finding.access_key_id,
            delivery,
            revoke_before,
        }
    }

    /// The remediation block.
    pub fn remediation(&self) -> Remediation {
        let role = self.role_arn.and_then(role_name).unwrap_or("<role-name>");
        let instance = self.instance_id.unwrap_or("<instance-id>");
        let region = if self.region.is_empty() {
            "<region>"
        } else {
            self.region
        };
        let before = self.revoke_before.plus(1000).to_string();
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": before}}
            }]
        });
        let mut steps = vec![
            format!(
                "Revoke the stolen session now: attach the inline policy below to role {role}. It denies every call made with credentials of this role issued before {before} (the latest evidence); the instance gets fresh credentials within minutes and keeps working. To revoke everything up to the present, use the current time instead (the IAM console's \"Revoke active sessions\" does the same)."
            ),
            format!("Find out what the key did: search CloudTrail for accessKeyId {} in every region and account, and for any role it assumed from there.", self.access_key_id),
        ];
        match self.delivery {
            Some(Delivery::ImdsV1) => steps.push(format!(
                "Find the leak on {instance}: these credentials were delivered by IMDSv1, which any plain HTTP GET to 169.254.169.254 can read — the classic server-side request forgery (SSRF) path. Review the instance's web/application logs for requests that reach the metadata service, and look for code execution."
            )),
            _ => steps.push(format!(
                "Find the leak on {instance}: the credentials left the instance, through code execution, a compromised dependency, exposed logs or an SSRF that can set headers. Review processes, logs and recent deployments on it."
            )),
        }
        steps.push(format!("Enforce IMDSv2 on {instance} and make it the default for new instances in {region}, so a plain GET can no longer read credentials."));
        steps.push(
            "Prevent reuse elsewhere: add a data-perimeter Deny to the role's policies or an SCP that requires aws:EC2InstanceSourceVPC to equal aws:SourceVpc and aws:EC2InstanceSourcePrivateIPv4 to equal aws:VpcSourceIp for instance credentials, so stolen instance credentials stop working outside their instance's network."
                .to_owned(),
        );
        let policy_text = policy.to_string();
        let commands = vec![
            format!("aws iam put-role-policy --role-name {role} --policy-name AWSRevokeOlderSessions --policy-document '{policy_text}'"),
            format!("aws cloudtrail lookup-events --region {region} --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={}", self.access_key_id),
            format!("aws ec2 modify-instance-metadata-options --region {region} --instance-id {instance} --http-tokens required --http-endpoint enabled"),
            format!("aws ec2 modify-instance-metadata-defaults --region {region} --http-tokens required"),
        ];
        Remediation {
            summary: format!("Revoke role {role}'s sessions issued before {before}, find how the credentials left {instance}, enforce IMDSv2."),
            steps,
            commands,
            revoke_policy: Some(policy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_policy_and_commands() {
        let r = StolenRole {
            role_arn: Some("arn:aws:iam::123837392027:role/web-role"),
            instance_id: Some("i-0dbc91f429e48eeed"),
            region: "us-east-1",
            access_key_id: "ASIATFQR7NSC36DZQP7P",
            delivery: Some(Delivery::ImdsV1),
            revoke_before: EventTime::parse("2023-07-10T11:57:22Z").unwrap(),
        }
        .remediation();
        let p = r.revoke_policy.as_ref().unwrap();
        assert_eq!(p["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            p["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2023-07-10T11:57:23Z"
        );
        assert!(r.commands[0].starts_with("aws iam put-role-policy --role-name web-role --policy-name AWSRevokeOlderSessions --policy-document '{"));
        assert!(r
            .steps
            .iter()
            .any(|s| s.contains("IMDSv1") && s.contains("SSRF")));
        assert!(r
            .commands
            .iter()
            .any(|c| c.contains("--http-tokens required")));
    }
}
