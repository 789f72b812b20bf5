"""Roles: ordering, and who may grant, change or remove which role (including the last owner)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import Conflict, Forbidden
from chalicelib.identity.errors import LastOwnerRequired, RoleChangeForbidden
from chalicelib.identity.roles import (
    Role,
    at_least,
    check_can_grant,
    check_member_removal,
    check_role_change,
    parse_role,
)

OWNER, ADMIN, BUILDER, VIEWER = Role.OWNER, Role.ADMIN, Role.BUILDER, Role.VIEWER


def test_roles_are_ordered_by_power_not_alphabet() -> None:
    assert sorted([VIEWER, OWNER, BUILDER, ADMIN]) == [VIEWER, BUILDER, ADMIN, OWNER]
    assert OWNER > ADMIN > BUILDER > VIEWER
    assert ADMIN < "owner" and BUILDER >= "builder"  # plain strings compare by rank too
    assert max(ADMIN, BUILDER) is ADMIN  # alphabetically "builder" would win


def test_roles_serialise_as_lower_case_strings() -> None:
    assert json.dumps({"role": ADMIN}) == '{"role": "admin"}'
    assert ADMIN == "admin" and parse_role("viewer") is VIEWER


@pytest.mark.parametrize("value", ["Owner", "root", "", None, 3])
def test_unknown_roles_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_role(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        at_least(value, "viewer")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "required", "expected"),
    [
        ("owner", "admin", True), ("admin", "admin", True), ("builder", "admin", False),
        ("viewer", "viewer", True), ("viewer", "builder", False), (ADMIN, "builder", True),
        ("admin", OWNER, False),
    ],
)
def test_at_least(role: str, required: str, expected: bool) -> None:
    assert at_least(role, required) is expected


@pytest.mark.parametrize(
    ("actor", "granted", "allowed"),
    [
        (OWNER, OWNER, True), (OWNER, ADMIN, True), (OWNER, VIEWER, True),
        (ADMIN, OWNER, False), (ADMIN, ADMIN, True), (ADMIN, BUILDER, True), (ADMIN, VIEWER, True),
        (BUILDER, VIEWER, False), (BUILDER, BUILDER, False), (VIEWER, VIEWER, False),
    ],
)
def test_who_may_grant_which_role(actor: Role, granted: Role, allowed: bool) -> None:
    if allowed:
        check_can_grant(actor, granted)
    else:
        with pytest.raises(RoleChangeForbidden) as caught:
            check_can_grant(actor, granted)
        assert isinstance(caught.value, Forbidden) and caught.value.status == 403


def _change(actor_role: Role, current: Role, new: Role, *, owners: int = 2, self_change: bool = False) -> None:
    check_role_change(
        actor_id="u-actor", actor_role=actor_role,
        target_id="u-actor" if self_change else "u-target",
        current_role=current, new_role=new, owner_count=owners,
    )


@pytest.mark.parametrize(
    ("actor", "current", "new"),
    [
        (OWNER, ADMIN, OWNER), (OWNER, OWNER, ADMIN), (OWNER, VIEWER, BUILDER),
        (ADMIN, VIEWER, ADMIN), (ADMIN, ADMIN, VIEWER), (ADMIN, BUILDER, VIEWER),
    ],
)
def test_allowed_role_changes(actor: Role, current: Role, new: Role) -> None:
    _change(actor, current, new)


@pytest.mark.parametrize(
    ("actor", "current", "new"),
    [
        (ADMIN, BUILDER, OWNER),  # only owners grant owner
        (ADMIN, OWNER, ADMIN),  # admins cannot demote owners
        (ADMIN, OWNER, OWNER),  # nor touch them at all
        (BUILDER, VIEWER, BUILDER),  # builders manage nobody
        (VIEWER, VIEWER, VIEWER),
    ],
)
def test_forbidden_role_changes(actor: Role, current: Role, new: Role) -> None:
    with pytest.raises(RoleChangeForbidden):
        _change(actor, current, new)


@pytest.mark.parametrize(("role", "new"), [(OWNER, ADMIN), (ADMIN, OWNER), (ADMIN, VIEWER), (BUILDER, VIEWER)])
def test_nobody_changes_their_own_role(role: Role, new: Role) -> None:
    with pytest.raises(RoleChangeForbidden):
        _change(role, role, new, self_change=True)


def test_repeating_the_current_role_is_a_harmless_no_op() -> None:
    _change(OWNER, OWNER, OWNER, owners=1, self_change=True)
    _change(ADMIN, BUILDER, BUILDER)


def test_the_last_owner_cannot_be_demoted() -> None:
    with pytest.raises(LastOwnerRequired) as caught:
        _change(OWNER, OWNER, ADMIN, owners=1)
    assert isinstance(caught.value, Conflict) and caught.value.code == "last_owner"


def test_an_owner_can_be_demoted_while_another_remains() -> None:
    _change(OWNER, OWNER, VIEWER, owners=2)


@pytest.mark.parametrize(
    ("actor", "target", "self_removal", "owners", "error"),
    [
        (OWNER, OWNER, False, 2, None),
        (OWNER, OWNER, False, 1, LastOwnerRequired),
        (OWNER, OWNER, True, 1, LastOwnerRequired),  # the last owner cannot leave
        (OWNER, OWNER, True, 3, None),
        (ADMIN, OWNER, False, 3, RoleChangeForbidden),
        (ADMIN, ADMIN, False, 1, None),
        (ADMIN, BUILDER, False, 1, None),
        (BUILDER, VIEWER, False, 1, RoleChangeForbidden),
        (VIEWER, VIEWER, True, 1, None),  # anyone may leave
    ],
)
def test_member_removal(
    actor: Role, target: Role, self_removal: bool, owners: int, error: type[Exception] | None
) -> None:
    def remove() -> None:
        check_member_removal(
            actor_id="a", actor_role=actor, target_id="a" if self_removal else "t",
            target_role=target, owner_count=owners,
        )

    if error is None:
        remove()
    else:
        with pytest.raises(error):
            remove()


def test_owner_count_must_be_a_count() -> None:
    with pytest.raises(ValueError):
        _change(OWNER, OWNER, ADMIN, owners=-1)


_roles = st.sampled_from(list(Role))


@given(actor=_roles, current=_roles, new=_roles, owners=st.integers(min_value=1, max_value=4), same=st.booleans())
def test_properties_of_allowed_changes(actor: Role, current: Role, new: Role, owners: int, same: bool) -> None:
    try:
        _change(actor, current, new, owners=owners, self_change=same)
    except (RoleChangeForbidden, LastOwnerRequired):
        return
    # An allowed change never: leaves zero owners, grants above the actor, touches a stronger member,
    # comes from a builder or viewer, or changes the actor's own role.
    if current is OWNER and new is not OWNER:
        assert owners >= 2
    assert new <= actor and current <= actor
    assert actor >= ADMIN
    assert not same or new == current
