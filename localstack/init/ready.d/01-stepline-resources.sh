#!/usr/bin/env bash
# Runs inside the LocalStack container when it is ready (docker compose route).
# Creates what the deployed template creates: the step queue, its DLQ with a redrive
# policy, and the KMS key with its alias. Idempotent. (The host route and the tests
# provision the same resources from devstack/aws.py.)
set -euo pipefail
REGION=${AWS_DEFAULT_REGION:-us-east-1}
QUEUE=${STEP_QUEUE_NAME:-stepline-steps}
DLQ=${STEP_DLQ_NAME:-stepline-steps-dlq}
ALIAS=${KMS_KEY_ALIAS:-alias/stepline-connections}

dlq_url=$(awslocal sqs create-queue --region "$REGION" --queue-name "$DLQ" \
  --attributes MessageRetentionPeriod=1209600 --query QueueUrl --output text)
dlq_arn=$(awslocal sqs get-queue-attributes --region "$REGION" --queue-url "$dlq_url" \
  --attribute-names QueueArn --query Attributes.QueueArn --output text)
queue_url=$(awslocal sqs create-queue --region "$REGION" --queue-name "$QUEUE" --query QueueUrl --output text)
awslocal sqs set-queue-attributes --region "$REGION" --queue-url "$queue_url" --attributes "{
  \"VisibilityTimeout\": \"360\",
  \"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"
}"

if ! awslocal kms describe-key --region "$REGION" --key-id "$ALIAS" >/dev/null 2>&1; then
  key_id=$(awslocal kms create-key --region "$REGION" --description "Stepline connection secrets" \
    --query KeyMetadata.KeyId --output text)
  awslocal kms create-alias --region "$REGION" --alias-name "$ALIAS" --target-key-id "$key_id"
fi
echo "stepline resources ready: $queue_url (DLQ $DLQ), $ALIAS"
