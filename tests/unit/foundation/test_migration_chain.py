"""The migrations form one line: one head, every revision revises the one before it.

Two changes that each add a migration on the same parent leave two heads; ``alembic upgrade head``
then refuses or, worse, a deployment stamps two versions. This catches it before any database runs.
"""

from __future__ import annotations

from alembic.script import ScriptDirectory

from chalicelib.deployment.database import PACKAGE_ROOT


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(PACKAGE_ROOT / "migrations"))


def test_the_migrations_have_one_head():
    heads = _scripts().get_heads()
    assert len(heads) == 1, f"several heads: {sorted(heads)}; chain the newer migration onto the other"


def test_each_migration_revises_the_one_before_it_and_file_names_follow_the_order():
    revisions = list(reversed(list(_scripts().walk_revisions())))  # oldest first
    assert revisions[0].down_revision is None
    for before, after in zip(revisions, revisions[1:], strict=False):
        assert after.down_revision == before.revision, (after.revision, after.down_revision)
    numbers = [revision.revision for revision in revisions]
    assert numbers == sorted(numbers), "revision ids must grow along the chain"
    for revision in revisions:
        assert revision.path.rsplit("/", 1)[-1].startswith(revision.revision + "_"), revision.path
