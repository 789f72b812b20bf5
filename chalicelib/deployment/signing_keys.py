"""The JWT signing key set on AWS: generated on the first deployment, rotated by the operator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.identity.keys import KeySet, KeyStatus, generate_key_config

EMPTY = "[]"


def initial_keyset(now: datetime) -> str:
    """A one-key set with a fresh Ed25519 pair, its kid naming the day it was made."""
    return json.dumps([generate_key_config(f"{now:%Y-%m-%d}-1")])


def ensure_keyset(client: Any, secret_id: str, *, now: datetime | None = None) -> bool:
    """Fill the secret if it still holds the template's placeholder; True if it wrote one."""
    current = client.get_secret_value(SecretId=secret_id).get("SecretString") or EMPTY
    if json.loads(current):
        KeySet.from_json(current)  # a hand-edited set that does not load fails the deployment, not a login
        return False
    client.put_secret_value(SecretId=secret_id, SecretString=initial_keyset(now or datetime.now(UTC)))
    return True


def stage_next_key(keyset_json: str, kid: str) -> str:
    """Rotation step 1: add a new key that verifies but does not sign yet (status ``retiring``,
    no ``retire_after``), so every container knows it before any token carries it."""
    entries = json.loads(keyset_json)
    if any(entry["kid"] == kid for entry in entries):
        raise ValueError(f"kid {kid!r} is already in the key set")
    entries.append(generate_key_config(kid) | {"status": KeyStatus.RETIRING.value})
    KeySet.from_json(json.dumps(entries))
    return json.dumps(entries)


def promote_key(keyset_json: str, kid: str, *, token_lifetime: timedelta, now: datetime) -> str:
    """Rotation step 2: ``kid`` signs from now on; the previous signer verifies until the tokens it
    signed have expired (``retire_after`` = now + the access-token lifetime)."""
    entries = json.loads(keyset_json)
    if not any(entry["kid"] == kid and entry.get("private_key") for entry in entries):
        raise ValueError(f"kid {kid!r} is not a staged key with a private key")
    retire_after = (now + token_lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
    for entry in entries:
        if entry["kid"] == kid:
            entry["status"] = KeyStatus.ACTIVE.value
            entry.pop("retire_after", None)
        elif entry["status"] == KeyStatus.ACTIVE.value:
            entry["status"] = KeyStatus.RETIRING.value
            entry["retire_after"] = retire_after
            entry.pop("private_key", None)  # it never signs again
    KeySet.from_json(json.dumps(entries))
    return json.dumps(entries)


def retire_expired(keyset_json: str, *, now: datetime) -> str:
    """Rotation step 3: keys past ``retire_after`` become ``retired`` (refused)."""
    entries = json.loads(keyset_json)
    for entry in entries:
        after = entry.get("retire_after")
        if entry["status"] == KeyStatus.RETIRING.value and after and datetime.fromisoformat(after) <= now:
            entry["status"] = KeyStatus.RETIRED.value
    KeySet.from_json(json.dumps(entries))
    return json.dumps(entries)
