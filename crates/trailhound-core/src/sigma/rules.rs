//! Loading rules: YAML to a compiled [`Rule`], refusing what is not implemented exactly; the
//! vendored SigmaHQ set; and which `eventName`s a rule requires (for the index).
use serde_json::Value;

use super::condition;
use super::glob::Glob;
use super::{eval, Check, Fields, LoadError, Look, Matcher, Rule, RuleInfo, Search, Tri};

/// The SigmaHQ CloudTrail rules vendored in `data/sigma/rules/` (DRL 1.1, see `data/sigma/`).
const BUILTIN: &[(&str, &str)] = &[
    ("aws_cloudtrail_bedrock_guardrail_deleted.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_bedrock_guardrail_deleted.yml")),
    ("aws_cloudtrail_bedrock_guardrail_updated.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_bedrock_guardrail_updated.yml")),
    ("aws_cloudtrail_bucket_deleted.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_bucket_deleted.yml")),
    ("aws_cloudtrail_console_login_failed_authentication.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_console_login_failed_authentication.yml")),
    ("aws_cloudtrail_console_login_success_without_mfa.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_console_login_success_without_mfa.yml")),
    ("aws_cloudtrail_disable_logging.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_disable_logging.yml")),
    ("aws_cloudtrail_guardduty_detector_deleted_or_updated.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_guardduty_detector_deleted_or_updated.yml")),
    ("aws_cloudtrail_imds_malicious_usage.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_imds_malicious_usage.yml")),
    ("aws_cloudtrail_new_acl_entries.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_new_acl_entries.yml")),
    ("aws_cloudtrail_new_route_added.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_new_route_added.yml")),
    ("aws_cloudtrail_pua_trufflehog.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_pua_trufflehog.yml")),
    ("aws_cloudtrail_region_enabled.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_region_enabled.yml")),
    ("aws_cloudtrail_security_group_change_ingress_egress.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_security_group_change_ingress_egress.yml")),
    ("aws_cloudtrail_security_group_change_loadbalancer.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_security_group_change_loadbalancer.yml")),
    ("aws_cloudtrail_security_group_change_rds.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_security_group_change_rds.yml")),
    ("aws_cloudtrail_ssm_malicious_usage.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_ssm_malicious_usage.yml")),
    ("aws_cloudtrail_vpc_flow_logs_deleted.yml", include_str!("../../../../data/sigma/rules/aws_cloudtrail_vpc_flow_logs_deleted.yml")),
    ("aws_config_disable_recording.yml", include_str!("../../../../data/sigma/rules/aws_config_disable_recording.yml")),
    ("aws_console_getsignintoken.yml", include_str!("../../../../data/sigma/rules/aws_console_getsignintoken.yml")),
    ("aws_delete_identity.yml", include_str!("../../../../data/sigma/rules/aws_delete_identity.yml")),
    ("aws_delete_saml_provider.yml", include_str!("../../../../data/sigma/rules/aws_delete_saml_provider.yml")),
    ("aws_disable_bucket_versioning.yml", include_str!("../../../../data/sigma/rules/aws_disable_bucket_versioning.yml")),
    ("aws_ec2_disable_encryption.yml", include_str!("../../../../data/sigma/rules/aws_ec2_disable_encryption.yml")),
    ("aws_ec2_import_key_pair_activity.yml", include_str!("../../../../data/sigma/rules/aws_ec2_import_key_pair_activity.yml")),
    ("aws_ec2_startup_script_change.yml", include_str!("../../../../data/sigma/rules/aws_ec2_startup_script_change.yml")),
    ("aws_ec2_vm_export_failure.yml", include_str!("../../../../data/sigma/rules/aws_ec2_vm_export_failure.yml")),
    ("aws_ecs_task_definition_cred_endpoint_query.yml", include_str!("../../../../data/sigma/rules/aws_ecs_task_definition_cred_endpoint_query.yml")),
    ("aws_efs_fileshare_modified_or_deleted.yml", include_str!("../../../../data/sigma/rules/aws_efs_fileshare_modified_or_deleted.yml")),
    ("aws_efs_fileshare_mount_modified_or_deleted.yml", include_str!("../../../../data/sigma/rules/aws_efs_fileshare_mount_modified_or_deleted.yml")),
    ("aws_eks_cluster_created_or_deleted.yml", include_str!("../../../../data/sigma/rules/aws_eks_cluster_created_or_deleted.yml")),
    ("aws_elasticache_security_group_created.yml", include_str!("../../../../data/sigma/rules/aws_elasticache_security_group_created.yml")),
    ("aws_elasticache_security_group_modified_or_deleted.yml", include_str!("../../../../data/sigma/rules/aws_elasticache_security_group_modified_or_deleted.yml")),
    ("aws_enum_buckets.yml", include_str!("../../../../data/sigma/rules/aws_enum_buckets.yml")),
    ("aws_guardduty_disruption.yml", include_str!("../../../../data/sigma/rules/aws_guardduty_disruption.yml")),
    ("aws_iam_backdoor_users_keys.yml", include_str!("../../../../data/sigma/rules/aws_iam_backdoor_users_keys.yml")),
    ("aws_iam_s3browser_loginprofile_creation.yml", include_str!("../../../../data/sigma/rules/aws_iam_s3browser_loginprofile_creation.yml")),
    ("aws_iam_s3browser_templated_s3_bucket_policy_creation.yml", include_str!("../../../../data/sigma/rules/aws_iam_s3browser_templated_s3_bucket_policy_creation.yml")),
    ("aws_iam_s3browser_user_or_accesskey_creation.yml", include_str!("../../../../data/sigma/rules/aws_iam_s3browser_user_or_accesskey_creation.yml")),
    ("aws_kms_import_key_material.yml", include_str!("../../../../data/sigma/rules/aws_kms_import_key_material.yml")),
    ("aws_lambda_function_url.yml", include_str!("../../../../data/sigma/rules/aws_lambda_function_url.yml")),
    ("aws_new_lambda_layer_attached.yml", include_str!("../../../../data/sigma/rules/aws_new_lambda_layer_attached.yml")),
    ("aws_passed_role_to_glue_development_endpoint.yml", include_str!("../../../../data/sigma/rules/aws_passed_role_to_glue_development_endpoint.yml")),
    ("aws_rds_change_master_password.yml", include_str!("../../../../data/sigma/rules/aws_rds_change_master_password.yml")),
    ("aws_rds_dbcluster_actions.yml", include_str!("../../../../data/sigma/rules/aws_rds_dbcluster_actions.yml")),
    ("aws_rds_public_db_restore.yml", include_str!("../../../../data/sigma/rules/aws_rds_public_db_restore.yml")),
    ("aws_root_account_usage.yml", include_str!("../../../../data/sigma/rules/aws_root_account_usage.yml")),
    ("aws_route_53_domain_transferred_lock_disabled.yml", include_str!("../../../../data/sigma/rules/aws_route_53_domain_transferred_lock_disabled.yml")),
    ("aws_route_53_domain_transferred_to_another_account.yml", include_str!("../../../../data/sigma/rules/aws_route_53_domain_transferred_to_another_account.yml")),
    ("aws_s3_data_management_tampering.yml", include_str!("../../../../data/sigma/rules/aws_s3_data_management_tampering.yml")),
    ("aws_securityhub_finding_evasion.yml", include_str!("../../../../data/sigma/rules/aws_securityhub_finding_evasion.yml")),
    ("aws_snapshot_backup_exfiltration.yml", include_str!("../../../../data/sigma/rules/aws_snapshot_backup_exfiltration.yml")),
    ("aws_sso_idp_change.yml", include_str!("../../../../data/sigma/rules/aws_sso_idp_change.yml")),
    ("aws_sts_assumerole_misuse.yml", include_str!("../../../../data/sigma/rules/aws_sts_assumerole_misuse.yml")),
    ("aws_sts_getcalleridentity_trufflehog.yml", include_str!("../../../../data/sigma/rules/aws_sts_getcalleridentity_trufflehog.yml")),
    ("aws_sts_getsessiontoken_misuse.yml", include_str!("../../../../data/sigma/rules/aws_sts_getsessiontoken_misuse.yml")),
    ("aws_susp_saml_activity.yml", include_str!("../../../../data/sigma/rules/aws_susp_saml_activity.yml")),
    ("aws_update_login_profile.yml", include_str!("../../../../data/sigma/rules/aws_update_login_profile.yml")),
];

/// The vendored SigmaHQ CloudTrail rules, compiled (each one loads: a test holds it).
pub fn builtin() -> Vec<Result<Rule, LoadError>> {
    BUILTIN
        .iter()
        .map(|(name, text)| Rule::parse(text, &format!("builtin:{name}")))
        .collect()
}

/// Compiles one rule.
pub(super) fn compile(text: &str, source: &str) -> Result<Rule, LoadError> {
    let fail = |id: &str, reason: String| LoadError {
        file: source.to_owned(),
        id: if id.is_empty() {
            "?".into()
        } else {
            id.to_owned()
        },
        reason,
    };
    let doc: Value =
        serde_yaml_ng::from_str(text).map_err(|e| fail("", format!("not YAML: {e}")))?;
    let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let list = |k: &str| -> Vec<String> {
        match doc.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        }
    };
    let id = s("id");
    if id.is_empty() || s("title").is_empty() {
        return Err(fail(&id, "a rule needs an id and a title".into()));
    }
    let logsource = doc.get("logsource");
    let ls = |k: &str| logsource.and_then(|l| l.get(k)).and_then(Value::as_str);
    if ls("product") != Some("aws")
        || ls("service") != Some("cloudtrail")
        || ls("category").is_some()
    {
        return Err(fail(
            &id,
            "not for CloudTrail (logsource must be product: aws, service: cloudtrail)".into(),
        ));
    }
    if doc.get("correlation").is_some() {
        return Err(fail(&id, "correlation rules are not supported".into()));
    }
    let Some(Value::Object(detection)) = doc.get("detection") else {
        return Err(fail(&id, "no detection".into()));
    };
    let mut names = Vec::new();
    let mut searches = Vec::new();
    let mut cond = None;
    for (k, v) in detection {
        match k.as_str() {
            "condition" => match v {
                Value::String(c) => cond = Some(c.clone()),
                _ => return Err(fail(&id, "only one condition string is supported".into())),
            },
            "timeframe" => {
                return Err(fail(&id, "timeframe (aggregation) is not supported".into()))
            }
            _ => {
                let search = compile_search(v).map_err(|r| fail(&id, format!("{k}: {r}")))?;
                names.push(k.clone());
                searches.push(search);
            }
        }
    }
    let cond = cond.ok_or_else(|| fail(&id, "no condition".into()))?;
    let condition = condition::parse(&cond, &names).map_err(|r| fail(&id, r))?;
    let info = RuleInfo {
        id: id.clone(),
        title: s("title"),
        level: match s("level").as_str() {
            "" => "medium".to_owned(),
            l => l.to_owned(),
        },
        tags: list("tags"),
        author: s("author"),
        references: list("references"),
        falsepositives: list("falsepositives"),
        description: s("description").trim().to_owned(),
        source: source.to_owned(),
    };
    Ok(Rule {
        info,
        searches,
        condition,
    })
}

fn compile_search(v: &Value) -> Result<Search, String> {
    match v {
        Value::Object(map) => Ok(Search::All(compile_map(map)?)),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let maps = items
                .iter()
                .filter_map(Value::as_object)
                .map(compile_map)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Search::Any(maps))
        }
        Value::Array(_) | Value::String(_) => {
            Err("keyword searches (values without a field) are not supported".into())
        }
        _ => Err("expected a map of fields or a list of maps".into()),
    }
}

fn compile_map(map: &serde_json::Map<String, Value>) -> Result<Vec<Check>, String> {
    map.iter().map(|(k, v)| compile_check(k, v)).collect()
}

fn compile_check(key: &str, v: &Value) -> Result<Check, String> {
    let mut parts = key.split('|');
    let path = parts.next().unwrap_or("").to_owned();
    if path.is_empty() {
        return Err(format!("`{key}`: a field name is needed"));
    }
    let (mut contains, mut starts, mut ends, mut all, mut re, mut fieldref) =
        (false, false, false, false, false, false);
    for m in parts {
        match m {
            "contains" => contains = true,
            "startswith" => starts = true,
            "endswith" => ends = true,
            "all" => all = true,
            "re" => re = true,
            "fieldref" => fieldref = true,
            other => return Err(format!("modifier `{other}` is not supported")),
        }
    }
    if [contains, starts, ends, re, fieldref]
        .iter()
        .filter(|x| **x)
        .count()
        > 1
    {
        return Err(format!("`{key}`: these modifiers do not combine here"));
    }
    let values: Vec<&Value> = match v {
        Value::Array(a) if a.is_empty() => return Err(format!("`{key}`: an empty list")),
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    let values = values
        .into_iter()
        .map(|v| match v {
            Value::Null if !(contains || starts || ends || re || fieldref) => Ok(Matcher::Null),
            Value::Bool(b) if !(contains || starts || ends || re || fieldref) => {
                Ok(Matcher::Bool(*b))
            }
            Value::Number(n) if !(contains || starts || ends || re || fieldref) => {
                Ok(Matcher::Num(n.to_string()))
            }
            Value::String(s) if re => regex::Regex::new(s)
                .map(Matcher::Re)
                .map_err(|e| format!("`{key}`: bad regular expression: {e}")),
            Value::String(s) if fieldref => Ok(Matcher::FieldRef(s.clone())),
            Value::String(s) => Ok(Matcher::Glob(Glob::new(
                s,
                contains || ends,
                contains || starts,
            ))),
            Value::Number(n) => Ok(Matcher::Glob(Glob::new(
                &n.to_string(),
                contains || ends,
                contains || starts,
            ))),
            other => Err(format!("`{key}`: value {other} is not supported")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Check {
        known: super::Known::of(&path),
        path,
        all,
        values,
    })
}

/// The lower-cased `eventName`s a rule requires, when every event of another name is sure not
/// to match it; `None` when the rule must be tested on every event.
pub(super) fn required_names(rule: &Rule) -> Option<Vec<String>> {
    let mut names = Vec::new();
    for s in &rule.searches {
        let maps: Vec<&Vec<Check>> = match s {
            Search::All(c) => vec![c],
            Search::Any(m) => m.iter().collect(),
        };
        for c in maps.into_iter().flatten().filter(|c| c.path == "eventName") {
            for m in &c.values {
                match m {
                    Matcher::Glob(g) => names.push(g.literal()?),
                    _ => return None,
                }
            }
        }
    }
    struct Other;
    impl Fields for Other {
        fn look(&self, path: &str, _known: super::Known) -> Look<'_> {
            if path == "eventName" {
                Look::Str("\u{1}not-a-name")
            } else {
                Look::Unknown
            }
        }
    }
    if names.is_empty() || eval(&rule.condition, &rule.searches, &Other) != Tri::False {
        return None;
    }
    names.sort();
    names.dedup();
    Some(names)
}
