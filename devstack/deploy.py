"""``python -m devstack.deploy STAGE build/package`` (``make deploy``): upload, deploy, sync the console.

1. Upload ``deployment.zip`` and the template to ``DEPLOY_BUCKET`` (the
   template is too large to pass inline) and point every function at the zip.
2. Create and execute a change set on the stack ``stepline-<stage>``. The
   stack's ``MigrationRun`` custom resource runs the migration function before
   the functions' code changes; if it fails, CloudFormation rolls the whole
   update back (see docs/deploy.md).
3. If the console was built (``console/.output/public``), sync it to the
   stack's bucket (hashed assets cached for a year, HTML revalidated) and
   invalidate CloudFront. The stack never depends on it.

Parameters come from the environment: ``MAIL_SENDER``, ``MAIL_IDENTITY``
(required), ``ALARM_EMAIL``, ``VPC_ID`` + ``PRIVATE_SUBNET_IDS``,
``CONSOLE_DOMAIN_NAME`` + ``CONSOLE_CERTIFICATE_ARN``, ``PUBLIC_BASE_URL``.
Credentials and region are boto3's usual ones (``AWS_PROFILE``, ``AWS_REGION``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import mimetypes
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONSOLE_BUILD = ROOT / "console" / ".output" / "public"
PARAMETERS = {  # template parameter -> environment variable
    "MailSender": "MAIL_SENDER", "MailIdentity": "MAIL_IDENTITY", "AlarmEmail": "ALARM_EMAIL",
    "VpcId": "VPC_ID", "PrivateSubnetIds": "PRIVATE_SUBNET_IDS", "ConsoleDomainName": "CONSOLE_DOMAIN_NAME",
    "ConsoleCertificateArn": "CONSOLE_CERTIFICATE_ARN", "PublicBaseUrl": "PUBLIC_BASE_URL", "VpcCidr": "VPC_CIDR",
}
REQUIRED = ("MailSender", "MailIdentity")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def stack_name(stage: str) -> str:
    return f"stepline-{stage}"


def parameters_from(environ: dict[str, str]) -> list[dict[str, str]]:
    missing = [PARAMETERS[p] for p in REQUIRED if not environ.get(PARAMETERS[p])]
    if missing:
        raise SystemExit(f"Set {', '.join(missing)} (see docs/deploy.md)")
    return [{"ParameterKey": key, "ParameterValue": environ[var]}
            for key, var in PARAMETERS.items() if environ.get(var)]


def with_artifacts(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """The template with every function's code taken from the uploaded zip."""
    result = copy.deepcopy(template)
    for resource in result["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    return result


def cache_control(relative: str) -> str:
    """Nuxt's hashed build assets never change under a name; everything else is revalidated."""
    return IMMUTABLE if relative.startswith("_nuxt/") else REVALIDATE


def sync_console(s3: Any, bucket: str, folder: Path) -> dict[str, int]:
    """Make the bucket hold exactly ``folder``'s files (content type and caching set per file)."""
    local = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
    remote: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        remote.update(item["Key"] for item in page.get("Contents", []))
    for relative, path in local.items():
        content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        s3.put_object(Bucket=bucket, Key=relative, Body=path.read_bytes(), ContentType=content_type,
                      CacheControl=cache_control(relative))
    stale = sorted(remote - set(local))
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start:start + 1000]]})
    return {"uploaded": len(local), "deleted": len(stale)}


def deploy(stage: str, package_dir: Path, environ: dict[str, str]) -> dict[str, str]:
    import boto3

    bucket = environ.get("DEPLOY_BUCKET") or sys.exit("Set DEPLOY_BUCKET: an S3 bucket for build artifacts")
    parameters = parameters_from(environ)
    session = boto3.session.Session()
    s3, cloudformation = session.client("s3"), session.client("cloudformation")
    code = (package_dir / "deployment.zip").read_bytes()
    prefix = f"stepline/{stage}/{hashlib.sha256(code).hexdigest()[:16]}"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/deployment.zip", Body=code)
    template = with_artifacts(json.loads((package_dir / "sam.json").read_text()), bucket, f"{prefix}/deployment.zip")
    s3.put_object(Bucket=bucket, Key=f"{prefix}/template.json", Body=json.dumps(template).encode())
    url = f"https://{bucket}.s3.amazonaws.com/{prefix}/template.json"

    name = stack_name(stage)
    exists = _stack_exists(cloudformation, name)
    change_set = f"release-{int(time.time())}"
    cloudformation.create_change_set(
        StackName=name, ChangeSetName=change_set, ChangeSetType="UPDATE" if exists else "CREATE",
        TemplateURL=url, Parameters=parameters,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        Tags=[{"Key": "stepline:stage", "Value": stage}])
    try:
        cloudformation.get_waiter("change_set_create_complete").wait(
            StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 5, "MaxAttempts": 120})
    except Exception:
        reason = cloudformation.describe_change_set(StackName=name, ChangeSetName=change_set).get("StatusReason", "")
        if "didn't contain changes" not in reason and "No updates" not in reason:
            raise
        print("The stack is up to date.")
    else:
        cloudformation.execute_change_set(StackName=name, ChangeSetName=change_set)
        waiter = "stack_update_complete" if exists else "stack_create_complete"
        print(f"Deploying {name} (a new database takes 15-25 minutes)...")
        cloudformation.get_waiter(waiter).wait(StackName=name, WaiterConfig={"Delay": 30, "MaxAttempts": 240})
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cloudformation.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])}
    if CONSOLE_BUILD.is_dir():
        counts = sync_console(s3, outputs["ConsoleBucketName"], CONSOLE_BUILD)
        session.client("cloudfront").create_invalidation(
            DistributionId=outputs["ConsoleDistributionId"],
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": change_set})
        print(f"Console synced: {counts['uploaded']} files, {counts['deleted']} removed.")
    else:
        print(f"No console build at {CONSOLE_BUILD.relative_to(ROOT)}: the console bucket was left as it is.")
    return outputs


def _stack_exists(cloudformation: Any, name: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError:
        return False
    return bool(stacks) and stacks[0]["StackStatus"] != "REVIEW_IN_PROGRESS"


if __name__ == "__main__":
    stage = sys.argv[1] if len(sys.argv) > 1 else "dev"
    outputs = deploy(stage, Path(sys.argv[2] if len(sys.argv) > 2 else "build/package"), dict(os.environ))
    print(f"Console and API: {outputs.get('ConsoleUrl')}")
