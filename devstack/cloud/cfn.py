"""Small helpers for writing CloudFormation as Python data."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def att(resource: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> dict[str, Any]:
    """``arn:<partition>:<service>:<region>:<account>:<resource>`` for this stack's region and account."""
    where = ("${AWS::Region}" if region else "") + ":" + ("${AWS::AccountId}" if account else "")
    return sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}")


def if_(condition: str, then: Any, otherwise: Any) -> dict[str, Any]:
    return {"Fn::If": [condition, then, otherwise]}


NO_VALUE = {"Ref": "AWS::NoValue"}


def skip(resource: dict[str, Any], *reasons: tuple[str, str]) -> dict[str, Any]:
    """Record checkov findings accepted on purpose, each with its reason, on the resource itself."""
    checks = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
    checks.extend({"id": check, "comment": why} for check, why in reasons)
    return resource


def name(stage: str, suffix: str) -> str:
    """The stage-qualified name of a named resource."""
    return f"stepline-{stage}-{suffix}"
