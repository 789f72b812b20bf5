"""Tenant roles and the rules for granting, changing and removing them.

Roles are ordered ``owner > admin > builder > viewer``. ``Role`` is a string
enum (it serialises as ``"admin"``) whose comparisons follow that order, not
the alphabet: ``Role.OWNER > Role.ADMIN`` is true.

The assignment rules are pure functions of the facts the caller loads (actor,
target, roles, current owner count); they raise ``RoleChangeForbidden`` (403)
or ``LastOwnerRequired`` (409) and return ``None`` when the change is allowed.
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.identity.errors import LastOwnerRequired, RoleChangeForbidden


class Role(StrEnum):
    """A member's role in a tenant, ordered by power."""

    OWNER = "owner"
    ADMIN = "admin"
    BUILDER = "builder"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        """Higher is more powerful (viewer 0 … owner 3)."""
        return _RANK[self]

    def _rank_of(self, other: object) -> int | None:
        if isinstance(other, Role):
            return other.rank
        if isinstance(other, str) and other in _RANK_BY_VALUE:
            return _RANK_BY_VALUE[other]
        return None

    # StrEnum would otherwise compare alphabetically ("admin" < "builder"), which is wrong and
    # dangerous for a permission check, so all four orderings are defined explicitly.
    def __lt__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank < rank

    def __le__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank <= rank

    def __gt__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank > rank

    def __ge__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank >= rank



_RANK: dict[Role, int] = {Role.VIEWER: 0, Role.BUILDER: 1, Role.ADMIN: 2, Role.OWNER: 3}
_RANK_BY_VALUE: dict[str, int] = {role.value: rank for role, rank in _RANK.items()}


def parse_role(value: str | Role) -> Role:
    """Return the ``Role`` named by ``value``; ``ValueError`` for anything else."""
    if isinstance(value, Role):
        return value
    if isinstance(value, str) and value in _RANK_BY_VALUE:
        return Role(value)
    raise ValueError("unknown role")


def at_least(role: str | Role, required: str | Role) -> bool:
    """Return whether ``role`` is ``required`` or more powerful (``at_least("admin", "builder")``)."""
    return parse_role(role).rank >= parse_role(required).rank


# Who may manage memberships at all, and the highest role each may grant.
_MANAGER_MINIMUM = Role.ADMIN
_GRANT_CEILING: dict[Role, Role] = {Role.OWNER: Role.OWNER, Role.ADMIN: Role.ADMIN}


def check_can_grant(actor_role: str | Role, role: str | Role) -> None:
    """Raise unless ``actor_role`` may give ``role`` to someone (an invite or a promotion).

    Owners grant any role; admins grant admin, builder or viewer; builders and
    viewers grant nothing.
    """
    actor, granted = parse_role(actor_role), parse_role(role)
    ceiling = _GRANT_CEILING.get(actor)
    if ceiling is None:
        raise RoleChangeForbidden("Only owners and admins can manage members.")
    if granted > ceiling:
        raise RoleChangeForbidden(f"Only owners can grant the {granted.value} role.")


def check_role_change(
    *,
    actor_id: str,
    actor_role: str | Role,
    target_id: str,
    current_role: str | Role,
    new_role: str | Role,
    owner_count: int,
) -> None:
    """Raise unless ``actor`` may change ``target``'s role from ``current_role`` to ``new_role``.

    Rules, in order: only owners and admins manage members; nobody changes
    their own role; the new role must be grantable by the actor; only an owner
    may change an owner's role; the last owner cannot be demoted. Setting the
    role a member already has is a no-op and allowed to anyone who may manage
    that member (so repeating a request is harmless). ``owner_count`` is the
    tenant's current number of owners, read in the same transaction as the
    update so two concurrent demotions cannot both pass.
    """
    actor, current, new = parse_role(actor_role), parse_role(current_role), parse_role(new_role)
    _check_manager(actor)
    if actor_id == target_id and new != current:
        raise RoleChangeForbidden("You cannot change your own role.")
    _check_may_manage(actor, current)
    if new == current:
        return
    check_can_grant(actor, new)
    _check_keeps_an_owner(current, owner_count)


def check_member_removal(
    *,
    actor_id: str,
    actor_role: str | Role,
    target_id: str,
    target_role: str | Role,
    owner_count: int,
) -> None:
    """Raise unless ``actor`` may remove ``target`` from the tenant (or leave, when they are the same).

    Any member may leave; removing someone else needs owner or admin, and only
    an owner removes an owner. The last owner can neither leave nor be removed.
    """
    actor, target = parse_role(actor_role), parse_role(target_role)
    if actor_id != target_id:
        _check_manager(actor)
        _check_may_manage(actor, target)
    _check_keeps_an_owner(target, owner_count)


def _check_manager(actor: Role) -> None:
    if actor < _MANAGER_MINIMUM:
        raise RoleChangeForbidden("Only owners and admins can manage members.")


def _check_may_manage(actor: Role, target_current: Role) -> None:
    # An admin must not be able to demote or evict an owner; admins may manage other admins.
    if target_current > actor:
        raise RoleChangeForbidden(f"Only owners can change or remove an {target_current.value}.")


def _check_keeps_an_owner(target_current: Role, owner_count: int) -> None:
    if isinstance(owner_count, bool) or not isinstance(owner_count, int) or owner_count < 0:
        raise ValueError("owner_count must be a non-negative integer")
    if target_current == Role.OWNER and owner_count <= 1:
        raise LastOwnerRequired()
