//! Every vendored SigmaHQ rule on a record that matches it and one that almost does (built from
//! the rule by hand: the smallest change that must turn the answer), both through the decoded
//! event's fields and the record, as the detector runs them.
use serde_json::{json, Value};

use super::*;

/// A CloudTrail record as AWS writes it (an IAM user's call), to patch per rule.
fn base() -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEALICE0001",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLEALICE0001",
            "userName": "alice"
        },
        "eventTime": "2026-12-03T08:05:41Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12",
        "requestParameters": null,
        "responseElements": null,
        "requestID": "8F3E1B2C4D5A6B7C",
        "eventID": "3c1b5d1e-8f5a-4b1e-9a43-0d3e7e7c2a11",
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() && k.starts_with('-') {
                    a.remove(&k[1..]);
                } else {
                    merge(a.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

fn record(patch: &Value) -> Value {
    let mut r = base();
    merge(&mut r, patch);
    r
}

/// The rule's verdict as the detector reaches it: the decoded event first, the record when the
/// event cannot tell.
fn verdict(rule: &Rule, rec: &Value) -> bool {
    let text = rec.to_string();
    let ev = crate::detect::testkit::event(&text);
    match rule.on_event(&ev) {
        Tri::True => {
            assert!(
                rule.on_record(rec),
                "{}: the event said yes, the record no",
                rule.info.id
            );
            true
        }
        Tri::False => {
            assert!(
                !rule.on_record(rec),
                "{}: the event said no, the record yes",
                rule.info.id
            );
            false
        }
        Tri::Unknown => rule.on_record(rec),
    }
}

/// (rule file, a record that matches, one that almost matches).
fn cases() -> Vec<(&'static str, Value, Value)> {
    let ev = |source: &str, name: &str| json!({"eventSource": source, "eventName": name});
    let with = |mut a: Value, b: Value| {
        merge(&mut a, &b);
        a
    };
    let root = json!({"userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "principalId": "111122223333", "-userName": null}});
    let role = json!({"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci-42", "principalId": "AROAEXAMPLEDEPLOY:ci-42", "accessKeyId": "ASIAEXAMPLEDEPLOY001", "-userName": null,
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEDEPLOY", "arn": "arn:aws:iam::111122223333:role/deploy", "accountId": "111122223333", "userName": "deploy"}, "attributes": {"creationDate": "2026-12-03T08:00:00Z", "mfaAuthenticated": "false"}}}});
    let s3browser = json!({"userAgent": "S3 Browser 11.5.5 https://s3browser.com"});
    vec![
        (
            "aws_cloudtrail_bedrock_guardrail_deleted.yml",
            ev("bedrock.amazonaws.com", "DeleteGuardrail"),
            ev("bedrock.amazonaws.com", "GetGuardrail"),
        ),
        (
            "aws_cloudtrail_bedrock_guardrail_updated.yml",
            ev("bedrock.amazonaws.com", "UpdateGuardrail"),
            ev("bedrock-agent.amazonaws.com", "UpdateGuardrail"),
        ),
        (
            "aws_cloudtrail_bucket_deleted.yml",
            ev("s3.amazonaws.com", "DeleteBucket"),
            with(
                ev("s3.amazonaws.com", "DeleteBucket"),
                json!({"errorCode": "BucketNotEmpty", "errorMessage": "The bucket you tried to delete is not empty"}),
            ),
        ),
        (
            "aws_cloudtrail_console_login_failed_authentication.yml",
            with(
                ev("signin.amazonaws.com", "ConsoleLogin"),
                json!({"errorMessage": "Failed authentication", "responseElements": {"ConsoleLogin": "Failure"}}),
            ),
            with(
                ev("signin.amazonaws.com", "ConsoleLogin"),
                json!({"responseElements": {"ConsoleLogin": "Success"}}),
            ),
        ),
        (
            "aws_cloudtrail_console_login_success_without_mfa.yml",
            with(
                ev("signin.amazonaws.com", "ConsoleLogin"),
                json!({"responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/", "MobileVersion": "No", "MFAUsed": "No"}}),
            ),
            with(
                ev("signin.amazonaws.com", "ConsoleLogin"),
                json!({"responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "Yes"}}),
            ),
        ),
        (
            "aws_cloudtrail_disable_logging.yml",
            with(
                ev("cloudtrail.amazonaws.com", "StopLogging"),
                json!({"requestParameters": {"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org"}}),
            ),
            ev("cloudtrail.amazonaws.com", "StartLogging"),
        ),
        (
            "aws_cloudtrail_guardduty_detector_deleted_or_updated.yml",
            with(
                ev("guardduty.amazonaws.com", "UpdateDetector"),
                json!({"requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": false}}),
            ),
            with(
                ev("guardduty.amazonaws.com", "UpdateDetector"),
                json!({"requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": true}}),
            ),
        ),
        (
            "aws_cloudtrail_imds_malicious_usage.yml",
            with(
                ev("s3.amazonaws.com", "ListBuckets"),
                json!({"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0a5b97b5c8174ca3a", "-userName": null}}),
            ),
            with(
                ev("ssm.amazonaws.com", "UpdateInstanceInformation"),
                json!({"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0a5b97b5c8174ca3a", "-userName": null}}),
            ),
        ),
        (
            "aws_cloudtrail_new_acl_entries.yml",
            ev("ec2.amazonaws.com", "CreateNetworkAclEntry"),
            ev("ec2.amazonaws.com", "DescribeNetworkAcls"),
        ),
        (
            "aws_cloudtrail_new_route_added.yml",
            ev("ec2.amazonaws.com", "CreateRoute"),
            ev("ec2.amazonaws.com", "CreateRouteTable"),
        ),
        (
            "aws_cloudtrail_pua_trufflehog.yml",
            json!({"userAgent": "TruffleHog"}),
            json!({"userAgent": "TruffleHog/3.63.2"}),
        ),
        (
            "aws_cloudtrail_region_enabled.yml",
            ev("account.amazonaws.com", "EnableRegion"),
            ev("account.amazonaws.com", "DisableRegion"),
        ),
        (
            "aws_cloudtrail_security_group_change_ingress_egress.yml",
            ev("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
            ev("ec2.amazonaws.com", "DescribeSecurityGroups"),
        ),
        (
            "aws_cloudtrail_security_group_change_loadbalancer.yml",
            ev("elasticloadbalancing.amazonaws.com", "SetSecurityGroups"),
            ev("ec2.amazonaws.com", "SetSecurityGroups"),
        ),
        (
            "aws_cloudtrail_security_group_change_rds.yml",
            ev("rds.amazonaws.com", "CreateDBSecurityGroup"),
            ev("rds.amazonaws.com", "DescribeDBSecurityGroups"),
        ),
        (
            "aws_cloudtrail_ssm_malicious_usage.yml",
            ev("ssm.amazonaws.com", "SendCommand"),
            with(
                ev("ssm.amazonaws.com", "SendCommand"),
                json!({"errorCode": "InvalidInstanceId"}),
            ),
        ),
        (
            "aws_cloudtrail_vpc_flow_logs_deleted.yml",
            with(
                ev("ec2.amazonaws.com", "DeleteFlowLogs"),
                json!({"errorCode": "Success"}),
            ),
            with(
                ev("ec2.amazonaws.com", "DeleteFlowLogs"),
                json!({"errorCode": "Client.UnauthorizedOperation"}),
            ),
        ),
        (
            "aws_config_disable_recording.yml",
            ev("config.amazonaws.com", "StopConfigurationRecorder"),
            ev("config.amazonaws.com", "StartConfigurationRecorder"),
        ),
        (
            "aws_console_getsignintoken.yml",
            with(
                ev("signin.amazonaws.com", "GetSigninToken"),
                json!({"userAgent": "python-requests/2.31.0"}),
            ),
            with(
                ev("signin.amazonaws.com", "GetSigninToken"),
                json!({"userAgent": "Jersey/${project.version} (HttpUrlConnection 17.0.9)"}),
            ),
        ),
        (
            "aws_delete_identity.yml",
            ev("ses.amazonaws.com", "DeleteIdentity"),
            ev("ses.amazonaws.com", "DeleteIdentityPolicy"),
        ),
        // `status` is not a CloudTrail field: the rule as published only matches records that have it.
        (
            "aws_delete_saml_provider.yml",
            with(
                ev("iam.amazonaws.com", "DeleteSAMLProvider"),
                json!({"status": "success"}),
            ),
            ev("iam.amazonaws.com", "DeleteSAMLProvider"),
        ),
        (
            "aws_disable_bucket_versioning.yml",
            with(
                ev("s3.amazonaws.com", "PutBucketVersioning"),
                json!({"requestParameters": {"bucketName": "finance-records", "Host": "finance-records.s3.amazonaws.com", "versioning": "", "VersioningConfiguration": {"Status": "Suspended", "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}}),
            ),
            with(
                ev("s3.amazonaws.com", "PutBucketVersioning"),
                json!({"requestParameters": {"bucketName": "finance-records", "VersioningConfiguration": {"Status": "Enabled"}}}),
            ),
        ),
        (
            "aws_ec2_disable_encryption.yml",
            ev("ec2.amazonaws.com", "DisableEbsEncryptionByDefault"),
            ev("ec2.amazonaws.com", "EnableEbsEncryptionByDefault"),
        ),
        (
            "aws_ec2_import_key_pair_activity.yml",
            ev("ec2.amazonaws.com", "ImportKeyPair"),
            ev("ec2.amazonaws.com", "CreateKeyPair"),
        ),
        (
            "aws_ec2_startup_script_change.yml",
            with(
                ev("ec2.amazonaws.com", "ModifyInstanceAttribute"),
                json!({"requestParameters": {"instanceId": "i-0a5b97b5c8174ca3a", "attribute": "userData"}}),
            ),
            with(
                ev("ec2.amazonaws.com", "ModifyInstanceAttribute"),
                json!({"requestParameters": {"instanceId": "i-0a5b97b5c8174ca3a", "attribute": "instanceType"}}),
            ),
        ),
        (
            "aws_ec2_vm_export_failure.yml",
            with(
                ev("ec2.amazonaws.com", "CreateInstanceExportTask"),
                json!({"responseElements": {"exportTask": {"exportTaskId": "export-i-0a5b97b5c8174ca3a", "state": "active"}}}),
            ),
            with(
                ev("ec2.amazonaws.com", "CreateInstanceExportTask"),
                json!({"errorCode": "Client.InvalidParameter", "errorMessage": "The instance is not exportable"}),
            ),
        ),
        (
            "aws_ecs_task_definition_cred_endpoint_query.yml",
            with(
                ev("ecs.amazonaws.com", "RegisterTaskDefinition"),
                json!({"requestParameters": {"family": "web", "containerDefinitions": [{"name": "web", "image": "alpine", "command": ["sh", "-c", "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}}),
            ),
            with(
                ev("ecs.amazonaws.com", "RegisterTaskDefinition"),
                json!({"requestParameters": {"family": "web", "containerDefinitions": [{"name": "web", "image": "alpine", "command": ["nginx", "-g", "daemon off;"]}]}}),
            ),
        ),
        (
            "aws_efs_fileshare_modified_or_deleted.yml",
            ev("elasticfilesystem.amazonaws.com", "DeleteFileSystem"),
            ev("elasticfilesystem.amazonaws.com", "DescribeFileSystems"),
        ),
        (
            "aws_efs_fileshare_mount_modified_or_deleted.yml",
            ev("elasticfilesystem.amazonaws.com", "DeleteMountTarget"),
            ev("elasticfilesystem.amazonaws.com", "CreateMountTarget"),
        ),
        (
            "aws_eks_cluster_created_or_deleted.yml",
            ev("eks.amazonaws.com", "CreateCluster"),
            ev("eks.amazonaws.com", "DescribeCluster"),
        ),
        (
            "aws_elasticache_security_group_created.yml",
            ev("elasticache.amazonaws.com", "CreateCacheSecurityGroup"),
            ev("elasticache.amazonaws.com", "CreateCacheCluster"),
        ),
        (
            "aws_elasticache_security_group_modified_or_deleted.yml",
            ev(
                "elasticache.amazonaws.com",
                "AuthorizeCacheSecurityGroupIngress",
            ),
            ev("elasticache.amazonaws.com", "DescribeCacheSecurityGroups"),
        ),
        (
            "aws_enum_buckets.yml",
            ev("s3.amazonaws.com", "ListBuckets"),
            with(ev("s3.amazonaws.com", "ListBuckets"), role.clone()),
        ),
        (
            "aws_guardduty_disruption.yml",
            ev("guardduty.amazonaws.com", "CreateIPSet"),
            ev("guardduty.amazonaws.com", "ListIPSets"),
        ),
        // The published filter compares with the literal text `responseElements.accessKey.userName`.
        (
            "aws_iam_backdoor_users_keys.yml",
            with(
                ev("iam.amazonaws.com", "CreateAccessKey"),
                json!({"requestParameters": {"userName": "bob"}, "responseElements": {"accessKey": {"userName": "bob", "accessKeyId": "AKIAEXAMPLEBOB000001", "status": "Active"}}}),
            ),
            with(
                ev("iam.amazonaws.com", "CreateAccessKey"),
                json!({"userIdentity": {"arn": "arn:aws:iam::111122223333:user/responseElements.accessKey.userName"}}),
            ),
        ),
        (
            "aws_iam_s3browser_loginprofile_creation.yml",
            with(
                ev("iam.amazonaws.com", "CreateLoginProfile"),
                s3browser.clone(),
            ),
            ev("iam.amazonaws.com", "CreateLoginProfile"),
        ),
        (
            "aws_iam_s3browser_templated_s3_bucket_policy_creation.yml",
            with(
                with(ev("iam.amazonaws.com", "PutUserPolicy"), s3browser.clone()),
                json!({"requestParameters": {"userName": "backup", "policyName": "s3-access", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"]}]}"}}),
            ),
            with(
                with(ev("iam.amazonaws.com", "PutUserPolicy"), s3browser.clone()),
                json!({"requestParameters": {"userName": "backup", "policyName": "s3-access", "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::finance-records/*\"]}]}"}}),
            ),
        ),
        (
            "aws_iam_s3browser_user_or_accesskey_creation.yml",
            with(ev("iam.amazonaws.com", "CreateUser"), s3browser.clone()),
            with(ev("iam.amazonaws.com", "DeleteUser"), s3browser.clone()),
        ),
        (
            "aws_kms_import_key_material.yml",
            ev("kms.amazonaws.com", "ImportKeyMaterial"),
            ev("kms.amazonaws.com", "GetParametersForImport"),
        ),
        (
            "aws_lambda_function_url.yml",
            ev("lambda.amazonaws.com", "CreateFunctionUrlConfig"),
            ev("lambda.amazonaws.com", "GetFunctionUrlConfig"),
        ),
        (
            "aws_new_lambda_layer_attached.yml",
            with(
                ev(
                    "lambda.amazonaws.com",
                    "UpdateFunctionConfiguration20150331v2",
                ),
                json!({"requestParameters": {"functionName": "billing", "layers": ["arn:aws:lambda:us-east-1:999988887777:layer:x:1"]}}),
            ),
            with(
                ev(
                    "lambda.amazonaws.com",
                    "UpdateFunctionConfiguration20150331v2",
                ),
                json!({"requestParameters": {"functionName": "billing", "timeout": 30}}),
            ),
        ),
        (
            "aws_passed_role_to_glue_development_endpoint.yml",
            ev("glue.amazonaws.com", "CreateDevEndpoint"),
            ev("glue.amazonaws.com", "GetDevEndpoint"),
        ),
        (
            "aws_rds_change_master_password.yml",
            with(
                ev("rds.amazonaws.com", "ModifyDBInstance"),
                json!({"responseElements": {"dBInstanceIdentifier": "orders", "pendingModifiedValues": {"masterUserPassword": "****"}}}),
            ),
            with(
                ev("rds.amazonaws.com", "ModifyDBInstance"),
                json!({"responseElements": {"dBInstanceIdentifier": "orders", "pendingModifiedValues": {"dBInstanceClass": "db.r6g.large"}}}),
            ),
        ),
        (
            "aws_rds_dbcluster_actions.yml",
            ev("rds.amazonaws.com", "DeleteDBCluster"),
            ev("rds.amazonaws.com", "DescribeDBClusters"),
        ),
        (
            "aws_rds_public_db_restore.yml",
            with(
                ev("rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot"),
                json!({"responseElements": {"dBInstanceIdentifier": "orders-copy", "publiclyAccessible": true}}),
            ),
            with(
                ev("rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot"),
                json!({"responseElements": {"dBInstanceIdentifier": "orders-copy", "publiclyAccessible": false}}),
            ),
        ),
        (
            "aws_root_account_usage.yml",
            root.clone(),
            with(root.clone(), json!({"eventType": "AwsServiceEvent"})),
        ),
        (
            "aws_route_53_domain_transferred_lock_disabled.yml",
            ev("route53.amazonaws.com", "DisableDomainTransferLock"),
            ev("route53domains.amazonaws.com", "DisableDomainTransferLock"),
        ),
        (
            "aws_route_53_domain_transferred_to_another_account.yml",
            ev("route53.amazonaws.com", "TransferDomainToAnotherAwsAccount"),
            ev(
                "route53.amazonaws.com",
                "AcceptDomainTransferFromAnotherAwsAccount",
            ),
        ),
        (
            "aws_s3_data_management_tampering.yml",
            ev("s3.amazonaws.com", "PutBucketLogging"),
            ev("s3.amazonaws.com", "GetBucketLogging"),
        ),
        (
            "aws_securityhub_finding_evasion.yml",
            ev("securityhub.amazonaws.com", "BatchUpdateFindings"),
            ev("securityhub.amazonaws.com", "GetFindings"),
        ),
        (
            "aws_snapshot_backup_exfiltration.yml",
            ev("ec2.amazonaws.com", "ModifySnapshotAttribute"),
            ev("ec2.amazonaws.com", "DescribeSnapshotAttribute"),
        ),
        (
            "aws_sso_idp_change.yml",
            ev(
                "sso.amazonaws.com",
                "DisableExternalIdPConfigurationForDirectory",
            ),
            ev(
                "sso-oidc.amazonaws.com",
                "DisableExternalIdPConfigurationForDirectory",
            ),
        ),
        (
            "aws_sts_assumerole_misuse.yml",
            with(ev("s3.amazonaws.com", "GetObject"), role.clone()),
            with(
                ev("s3.amazonaws.com", "GetObject"),
                json!({"userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci-42", "-userName": null}}),
            ),
        ),
        (
            "aws_sts_getcalleridentity_trufflehog.yml",
            with(
                ev("sts.amazonaws.com", "GetCallerIdentity"),
                json!({"userAgent": "TruffleHog aws-sdk-go/1.44.0"}),
            ),
            ev("sts.amazonaws.com", "GetCallerIdentity"),
        ),
        (
            "aws_sts_getsessiontoken_misuse.yml",
            ev("sts.amazonaws.com", "GetSessionToken"),
            with(ev("sts.amazonaws.com", "GetSessionToken"), root.clone()),
        ),
        (
            "aws_susp_saml_activity.yml",
            ev("iam.amazonaws.com", "UpdateSAMLProvider"),
            ev("iam.amazonaws.com", "GetSAMLProvider"),
        ),
        // The published filter compares an ARN with a user name, which never match: every update is raised.
        (
            "aws_update_login_profile.yml",
            with(
                ev("iam.amazonaws.com", "UpdateLoginProfile"),
                json!({"requestParameters": {"userName": "bob", "passwordResetRequired": false}}),
            ),
            with(
                ev("iam.amazonaws.com", "UpdateLoginProfile"),
                json!({"requestParameters": {"userName": "arn:aws:iam::111122223333:user/alice"}}),
            ),
        ),
    ]
}

#[test]
fn every_vendored_rule_loads() {
    let loaded = builtin();
    assert_eq!(loaded.len(), 57);
    for r in &loaded {
        assert!(r.is_ok(), "{:?}", r.as_ref().err());
    }
}

#[test]
fn each_vendored_rule_matches_its_event_and_not_the_near_miss() {
    let cases = cases();
    assert_eq!(cases.len(), 57, "one case per rule");
    let rules: Vec<Rule> = builtin().into_iter().filter_map(Result::ok).collect();
    let set = RuleSet::new(rules);
    for (file, hit, miss) in &cases {
        let rule = set
            .rules()
            .iter()
            .find(|r| r.info.source == format!("builtin:{file}"))
            .unwrap_or_else(|| panic!("no rule {file}"));
        let (hit, miss) = (record(hit), record(miss));
        assert!(verdict(rule, &hit), "{file}: should match {hit}");
        assert!(!verdict(rule, &miss), "{file}: should not match {miss}");
        // The index offers the rule for the matching event.
        let ev = crate::detect::testkit::event(&hit.to_string());
        let mut offered = false;
        set.candidates(&ev, |i, _| offered |= std::ptr::eq(&set.rules()[i], rule));
        assert!(offered, "{file}: the index hides it");
    }
}

#[test]
fn the_index_skips_events_no_rule_can_match() {
    let set = RuleSet::new(builtin().into_iter().filter_map(Result::ok).collect());
    let ev = crate::detect::testkit::event(
        &record(&json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject"})).to_string(),
    );
    let mut n = 0;
    set.candidates(&ev, |_, _| n += 1);
    assert_eq!(n, 0, "an IAM user's GetObject concerns no rule");
    assert!(set.hits(&ev, "{}").is_none());
}

#[test]
fn unsupported_features_and_other_sources_are_refused_with_a_reason() {
    let rule = |detection: &str, logsource: &str| {
        format!("title: t\nid: 0c5a2c1c-0000-4000-8000-000000000001\nlogsource:\n{logsource}\ndetection:\n{detection}\nlevel: high\n")
    };
    let aws = "    product: aws\n    service: cloudtrail";
    let refused = |text: String, why: &str| {
        let e = Rule::parse(&text, "x.yml").expect_err(why);
        assert!(e.reason.contains(why), "{e}");
        assert_eq!(e.id, "0c5a2c1c-0000-4000-8000-000000000001");
        assert_eq!(e.file, "x.yml");
    };
    refused(
        rule(
            "    sel:\n        eventName: X\n    condition: sel",
            "    product: windows\n    service: security",
        ),
        "not for CloudTrail",
    );
    refused(
        rule(
            "    sel:\n        eventName|base64: X\n    condition: sel",
            aws,
        ),
        "modifier `base64`",
    );
    refused(
        rule(
            "    keywords:\n        - evil\n    condition: keywords",
            aws,
        ),
        "keyword searches",
    );
    refused(
        rule(
            "    sel:\n        eventName: X\n    condition: sel | count() > 5",
            aws,
        ),
        "unexpected",
    );
    refused(
        rule(
            "    sel:\n        eventName: X\n    timeframe: 5m\n    condition: sel",
            aws,
        ),
        "timeframe",
    );
    refused(
        rule(
            "    sel:\n        eventName|re: '('\n    condition: sel",
            aws,
        ),
        "bad regular expression",
    );
    assert!(Rule::parse("title: [unclosed", "y.yml").is_err());
}

#[test]
fn modifiers_match_as_the_specification_defines() {
    let text = "title: t\nid: 0c5a2c1c-0000-4000-8000-000000000002\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    sel:\n        requestParameters.policy|contains|all:\n            - 'Deny'\n            - 'Allow'\n        userAgent|endswith: '.debian.12'\n        eventName:\n            - Put?ucketPolicy\n            - 'DeleteBucketPolicy'\n    condition: sel\n";
    let r = Rule::parse(text, "t").unwrap();
    let rec = |policy: &str, name: &str| {
        record(&json!({"eventName": name, "requestParameters": {"policy": policy}}))
    };
    let both = "[{\"Effect\":\"ALLOW\"},{\"Effect\":\"deny\"}]";
    assert!(
        r.on_record(&rec(both, "PutBucketPolicy")),
        "case-insensitive, every value"
    );
    assert!(
        r.on_record(&rec(both, "PutxucketPolicy")),
        "`?` is one character"
    );
    assert!(
        !r.on_record(&rec("[{\"Effect\":\"Allow\"}]", "PutBucketPolicy")),
        "|all needs both"
    );
    assert!(!r.on_record(&rec(both, "PutBucketPolicyX")));
    assert!(
        !RuleSet::new(vec![r]).everywhere.is_empty(),
        "a wildcard eventName is not indexed"
    );
}
