"""The step queue, its dead-letter queue, and the key-encryption key of stored secrets."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.pg_queue import DLQ_RETENTION_S, MESSAGE_RETENTION_S
from devstack import aws as local_provisioning
from devstack.cloud.cfn import att, name, ref, skip, sub
from devstack.cloud.stages import Stage


def queue_name(stage: Stage) -> str:
    return name(stage.name, "steps")


def dlq_name(stage: Stage) -> str:
    return name(stage.name, "steps-dlq")


def key_alias(stage: Stage) -> str:
    return f"alias/{name(stage.name, 'connections')}"


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    resources = template["Resources"]
    resources["StepDeadLetterQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": dlq_name(stage), "MessageRetentionPeriod": DLQ_RETENTION_S, "SqsManagedSseEnabled": True}}
    resources["StepQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": queue_name(stage),
        # the local provisioning (devstack/aws.py) and the embedded queue use the same figures
        "VisibilityTimeout": local_provisioning.VISIBILITY_TIMEOUT_S,
        "MessageRetentionPeriod": MESSAGE_RETENTION_S,
        "SqsManagedSseEnabled": True,
        "RedrivePolicy": {"deadLetterTargetArn": att("StepDeadLetterQueue", "Arn"),
                          "maxReceiveCount": local_provisioning.MAX_RECEIVE_COUNT}}}
    for queue in ("StepDeadLetterQueue", "StepQueue"):
        skip(resources[queue], ("CKV_AWS_27", "Encrypted at rest with SQS-managed keys (SqsManagedSseEnabled); "
                                              "messages carry ids only, never data."))
    resources["ConnectionKey"] = {"Type": "AWS::KMS::Key", "Properties": {
        "Description": f"Stepline {stage.name}: key-encryption key of connection and trigger secrets",
        "EnableKeyRotation": True,
        "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
            # The account administers the key; the functions' roles get use of it through IAM.
            "Sid": "AccountAdministers", "Effect": "Allow",
            "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
            "Action": "kms:*", "Resource": "*"}]}}}
    if stage.deletion_protection:
        # database snapshots hold data keys wrapped by it: the key outlives the stack
        resources["ConnectionKey"]["DeletionPolicy"] = "Retain"
        resources["ConnectionKey"]["UpdateReplacePolicy"] = "Retain"
    resources["ConnectionKeyAlias"] = {"Type": "AWS::KMS::Alias", "Properties": {
        "AliasName": key_alias(stage), "TargetKeyId": ref("ConnectionKey")}}
