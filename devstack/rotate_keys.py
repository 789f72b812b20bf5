"""``python -m devstack.rotate_keys STAGE stage|promote|retire [--kid KID]``: JWT key rotation on AWS.

The functions read the key set once per container, so each step ends by
making the API function start fresh containers (a configuration update does
that); between steps every running container knows every key that may sign.

1. ``stage --kid 2027-01``: add a new key that verifies but does not sign yet.
2. ``promote --kid 2027-01`` (after step 1 is live): it signs; the old signer
   becomes ``retiring`` until every token it signed has expired.
3. ``retire`` (after that): keys past ``retire_after`` become ``retired``.

Credentials and region are boto3's usual ones. Key material is never printed.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.deployment import signing_keys
from chalicelib.identity.tokens import MAX_TTL_SECONDS
from devstack.cloud.functions import function_name
from devstack.cloud.secrets import secret_name
from devstack.cloud.stages import STAGES


def rotate(secrets: Any, lambdas: Any, stage: str, action: str, kid: str | None, now: datetime) -> str:
    settings = STAGES[stage]
    secret_id = secret_name(settings, "jwt-keys")
    current = secrets.get_secret_value(SecretId=secret_id)["SecretString"]
    if action == "stage":
        updated = signing_keys.stage_next_key(current, kid or f"{now:%Y-%m-%d}-{now:%H%M}")
    elif action == "promote":
        if not kid:
            raise SystemExit("promote needs --kid (the staged key)")
        updated = signing_keys.promote_key(current, kid, token_lifetime=timedelta(seconds=MAX_TTL_SECONDS), now=now)
    elif action == "retire":
        updated = signing_keys.retire_expired(current, now=now)
    else:
        raise SystemExit("action must be stage, promote or retire")
    if updated == current:
        return "nothing to change"
    secrets.put_secret_value(SecretId=secret_id, SecretString=updated)
    if lambdas is not None:
        lambdas.update_function_configuration(
            FunctionName=function_name(settings, "api"),
            Description=f"signing keys: {action} at {now:%Y-%m-%dT%H:%M:%SZ}")
    return f"{action}: key set updated; the api function starts fresh containers"


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("action", choices=("stage", "promote", "retire"))
    parser.add_argument("--kid")
    args = parser.parse_args()
    session = boto3.session.Session()
    print(rotate(session.client("secretsmanager"), session.client("lambda"), args.stage, args.action, args.kid,
                 datetime.now(UTC)))


if __name__ == "__main__":
    main()
