# The function's role: least privilege, scoped to its source's secrets, the state key and its own log group.

locals {
  # The region and account from an ARN rather than data.aws_region (whose attribute is `name` in
  # provider v5 and `region` in v6, `name` deprecated there) and data.aws_caller_identity.
  region     = split(":", aws_cloudwatch_log_group.this.arn)[3]
  account_id = split(":", aws_cloudwatch_log_group.this.arn)[4]
  # Partition-aware ARNs and endpoints (aws, aws-cn, aws-us-gov): none is spelt out by hand. The
  # service principals lambda.amazonaws.com and events.amazonaws.com are the same in every partition.
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
}

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  path                 = var.role_path
  description          = "idpscim Lambda ${var.name}: reads its secrets, reads and writes its state object, writes its logs"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.role_permissions_boundary_arn
  tags                 = var.tags
}

data "aws_iam_policy_document" "permissions" {
  # Exactly the secrets the function reads: the SCIM pair and its source's own (main.tf).
  statement {
    sid       = "ReadSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.secret_arns)
  }

  # The tool reads the state with GetObject and writes it with conditional PutObject
  # (If-Match / If-None-Match); it never lists, heads or deletes it.
  statement {
    sid       = "ReadWriteState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.state_bucket_arn}/${var.state_key}"]
  }

  # The run lock `<state_key>.lock`: created with If-None-Match, refreshed with If-Match, read to
  # name its holder, and deleted (If-Match) at the end of the run. The only object it deletes.
  statement {
    sid       = "HoldRunLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_bucket_arn}/${var.state_key}.lock"]
  }

  # Without s3:ListBucket, GetObject on a missing key answers 403 instead of 404, and the first run
  # (no state yet) would fail instead of starting fresh; so would reading a lock released meanwhile.
  # For that check S3 sets s3:prefix to the requested key, so this grant covers those two keys and
  # nothing else (see https://github.com/ceph/ceph/pull/68577, which reproduces AWS's behaviour).
  statement {
    sid       = "KnowWhetherStateExists"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]

    condition {
      test     = "StringEquals"
      variable = "s3:prefix"
      values   = [var.state_key, "${var.state_key}.lock"]
    }
  }

  # Log streams get their names at run time: the only wildcard here, inside the function's own group.
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # The customer key encrypts the state (SSE-KMS) and the secrets; use it only through those services.
  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "DecryptThroughS3AndSecretsManager"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values = [
          "s3.${local.region}.${local.dns_suffix}",
          "secretsmanager.${local.region}.${local.dns_suffix}",
        ]
      }
    }
  }

  # In a VPC, Lambda creates and deletes the function's network interfaces with this role (the
  # actions of the managed AWSLambdaVPCAccessExecutionRole). Changing them is limited to this
  # account and region; the two Describe actions take no resource and need "*".
  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]

    content {
      sid       = "ManageVpcNetworkInterfaces"
      actions   = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
      resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*"]
    }
  }

  dynamic "statement" {
    for_each = var.vpc_config == null ? [] : [var.vpc_config]

    content {
      sid       = "DescribeVpcNetworkInterfaces"
      actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
      resources = ["*"]
    }
  }

  # Lambda sends a failed asynchronous run's record to the on-failure destination as the function's role.
  dynamic "statement" {
    for_each = var.on_failure_destination_arn == null ? [] : [var.on_failure_destination_arn]

    content {
      sid       = "SendFailedRunsToDestination"
      actions   = [local.on_failure_actions[split(":", statement.value)[2]]]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "idpscim"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.permissions.json
}
