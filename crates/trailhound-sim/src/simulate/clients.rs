//! The clients that make calls: user agents and TLS details, stable per workload as in real accounts.
//!
//! User agents follow the formats the SDKs really send (AWS SDK for Java 2, Boto3 with the `ua/2.0`
//! metadata, the JavaScript SDK v3, Go v1/v2, the SSM agent, AWS CLI v2, Terraform) and the forms AWS
//! services write when they act themselves (`autoscaling.amazonaws.com`, `AWS Internal`).

/// A client: its `userAgent` and the TLS version and cipher suite CloudTrail records for it.
#[derive(Debug)]
pub(crate) struct Client {
    /// `userAgent`.
    pub ua: &'static str,
    /// `tlsDetails.tlsVersion`.
    pub tls: &'static str,
    /// `tlsDetails.cipherSuite`.
    pub cipher: &'static str,
}

const fn tls13(ua: &'static str) -> Client {
    Client {
        ua,
        tls: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
    }
}

const fn tls12(ua: &'static str) -> Client {
    Client {
        ua,
        tls: "TLSv1.2",
        cipher: "ECDHE-RSA-AES128-GCM-SHA256",
    }
}

/// AWS SDK for Java 2 on Amazon Linux 2 (web services).
pub(crate) static JAVA2: Client = tls13("aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy");
/// Boto3 with the `ua/2.0` metadata (workers).
pub(crate) static BOTO3: Client = tls13("Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69");
/// An old Boto3 (an IMDSv1-era workload).
pub(crate) static BOTO3_OLD: Client =
    tls12("Boto3/1.17.112 Python/3.7.16 Linux/4.14.336-257.562.amzn2.x86_64 Botocore/1.20.112");
/// AWS SDK for Go v2 (batch jobs).
pub(crate) static GO2: Client =
    tls13("aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64");
/// The SSM agent, present on every instance.
pub(crate) static SSM_AGENT: Client =
    tls12("aws-sdk-go/1.44.260 (go1.20.11; linux; amd64) amazon-ssm-agent/3.3.131.0");
/// AWS CLI v2 on an instance (bastions, cron jobs).
pub(crate) static CLI_INSTANCE: Client = tls13("aws-cli/2.15.30 Python/3.11.8 Linux/6.1.82-99.168.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/s3.cp");
/// Jenkins' AWS SDK for Java 1.
pub(crate) static JAVA1: Client = tls12("aws-sdk-java/1.12.669 Linux/5.15.0-1055-aws OpenJDK_64-Bit_Server_VM/11.0.22+7-post-Ubuntu-0ubuntu222.04.1 java/11.0.22 vendor/Ubuntu cfg/retry-mode/legacy");
/// EKS node components (kubelet credential provider, VPC CNI).
pub(crate) static GO1_NODE: Client = tls12("aws-sdk-go/1.50.30 (go1.21.8; linux; amd64)");
/// The CloudWatch agent (aws/amazon-cloudwatch-agent: `CWAgent/<version> (<go>; <os>; <arch>)`).
pub(crate) static CW_AGENT: Client = tls12("CWAgent/1.300034.0 (go1.21.8; linux; amd64) inputs:(cpu disk mem) outputs:(cloudwatch cloudwatchlogs)");
/// The ECS container agent (the form real records show: `Amazon ECS Agent - v<version> (<commit>)`).
pub(crate) static ECS_AGENT: Client =
    tls12("Amazon ECS Agent - v1.82.1 (2d8a7a05) (+http://aws.amazon.com/ecs/)");
/// The VPC CNI's ipamd (its SDK client names the plugin).
pub(crate) static VPC_CNI: Client =
    tls12("aws-sdk-go/1.50.30 (go1.21.8; linux; amd64) amazon-vpc-cni-k8s/version/v1.18.1");
/// kubelet's ECR credential provider.
pub(crate) static ECR_CRED: Client =
    tls12("aws-sdk-go/1.50.30 (go1.21.8; linux; amd64) ecr-credential-provider/v1.29.0");
/// A Lambda function in Python.
pub(crate) static LAMBDA_PY: Client = tls13("Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.213-225.857.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42");
/// An ECS Fargate task in Node.js.
pub(crate) static ECS_NODE: Client = tls13("aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 lang/js md/nodejs#20.12.0 exec-env/AWS_ECS_FARGATE");
/// A pod on EKS (IRSA) with the Java 2 SDK.
pub(crate) static EKS_POD: Client = tls13("aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.2+13-LTS Java/21.0.2 vendor/Eclipse_Adoptium io/sync http/Apache cfg/retry-mode/standard");
/// The GitHub action that obtains AWS credentials.
pub(crate) static GHA_CREDS: Client = tls13("aws-sdk-js/3.540.0 ua/2.0 os/linux#6.5.0-1017-azure lang/js md/nodejs#20.11.1 api/sts#3.540.0 configure-aws-credentials-for-github-actions");
/// The AWS CLI in a GitHub-hosted runner.
pub(crate) static GHA_CLI: Client = tls13("aws-cli/2.15.31 Python/3.11.8 Linux/6.5.0-1017-azure exe/x86_64.ubuntu.22 prompt/off command/cloudformation.deploy");
/// Developers' desktop CLIs.
pub(crate) static DESKTOP_CLI: [Client; 3] = [
    tls13("aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ec2.describe-instances"),
    tls13("aws-cli/2.15.25 Python/3.11.8 Windows/10 exe/AMD64 prompt/off command/s3.ls"),
    tls13("aws-cli/2.13.4 Python/3.11.4 Linux/6.5.0-27-generic exe/x86_64.ubuntu.22 prompt/off command/logs.tail"),
];
/// Terraform from a laptop.
pub(crate) static TERRAFORM: Client = tls13("APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/macos lang/go#1.22.1 md/GOOS#darwin md/GOARCH#arm64");
/// A browser (console sign-in, SAML).
pub(crate) static BROWSER: Client = tls13("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36");
/// API calls the EC2 console makes on a signed-in user's behalf.
pub(crate) static CONSOLE_EC2: Client = tls13("console.ec2.amazonaws.com");
/// A backup tool on an on-premises server (long-term IAM user key).
pub(crate) static ONPREM_BACKUP: Client =
    tls12("aws-cli/1.32.69 Python/3.9.18 Linux/4.18.0-513.18.1.el8_9.x86_64 botocore/1.34.69");

/// S3 acting on a caller's behalf (KMS calls for SSE-KMS objects).
pub(crate) static S3_SERVICE: Client = Client {
    ua: "s3.amazonaws.com",
    tls: "",
    cipher: "",
};
/// AWS acting internally with a caller's session.
pub(crate) static AWS_INTERNAL: Client = Client {
    ua: "AWS Internal",
    tls: "",
    cipher: "",
};

/// Auto Scaling acting with its service-linked role.
pub(crate) static AUTOSCALING: Client = Client {
    ua: "autoscaling.amazonaws.com",
    tls: "",
    cipher: "",
};
/// AWS Config's recorder.
pub(crate) static CONFIG: Client = Client {
    ua: "config.amazonaws.com",
    tls: "",
    cipher: "",
};

/// Attackers' clients.
pub(crate) mod attacker {
    use super::{tls12, tls13, Client};
    /// curl through an SSRF or a shell.
    pub(crate) static CURL: Client = tls13("curl/8.5.0");
    /// python-requests (SSRF tooling).
    pub(crate) static PY_REQUESTS: Client = tls13("python-requests/2.31.0");
    /// The AWS CLI on the attacker's laptop.
    pub(crate) static MAC_CLI: Client = tls13("aws-cli/2.15.40 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/sts.get-caller-identity");
    /// Boto3 on a Linux VPS.
    pub(crate) static VPS_BOTO3: Client = tls13("Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.15.0-91-generic md/arch#x86_64 lang/python#3.10.12 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57");
    /// The AWS CLI v2 on Kali Linux (`md/distrib#kali`).
    pub(crate) static KALI_CLI: Client = tls13("aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/distrib#kali.2024 md/prompt#off md/command#iam.list-users");
    /// Pacu (Boto3) on Kali Linux.
    pub(crate) static PACU_KALI: Client = tls12("Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#6.5.0-kali3-amd64 md/arch#x86_64 lang/python#3.11.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57");
    /// Boto3 on Parrot OS.
    pub(crate) static PARROT: Client =
        tls12("Boto3/1.26.27 Python/3.9.2 Linux/5.16.0-12parrot1-amd64 Botocore/1.29.27");
    /// The Go SDK from a compromised build host.
    pub(crate) static GO_TOOL: Client =
        tls13("aws-sdk-go-v2/1.17.0 os/linux lang/go/1.18.10 md/GOOS/linux md/GOARCH/amd64");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_need_no_json_escaping() {
        let all = [
            &JAVA2,
            &BOTO3,
            &BOTO3_OLD,
            &GO2,
            &SSM_AGENT,
            &CLI_INSTANCE,
            &JAVA1,
            &GO1_NODE,
            &LAMBDA_PY,
            &ECS_NODE,
            &EKS_POD,
            &GHA_CREDS,
            &GHA_CLI,
            &TERRAFORM,
            &BROWSER,
            &CONSOLE_EC2,
            &ONPREM_BACKUP,
            &CW_AGENT,
            &ECS_AGENT,
            &VPC_CNI,
            &ECR_CRED,
            &attacker::CURL,
            &attacker::KALI_CLI,
            &attacker::PACU_KALI,
            &attacker::PARROT,
        ];
        for c in all.iter().copied().chain(DESKTOP_CLI.iter()) {
            assert!(!c.ua.contains('"') && !c.ua.contains('\\'), "{}", c.ua);
            assert!(c.tls.starts_with("TLSv1."));
        }
    }
}
