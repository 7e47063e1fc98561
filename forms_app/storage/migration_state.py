"""Whether a database already has every migration, told without loading Alembic.

Every process that opens the database migrates it first (`AUTO_MIGRATE`): each server worker,
each CLI command. Almost always there is nothing to apply, and Alembic (its import, its
environment and the migration scripts) costs more than a tenth of a second of a process's
start. So the revision the database records is compared with the newest migration's, read from
the scripts' `revision` and `down_revision` lines; when they differ, or when the scripts are
anything but one straight line of revisions, Alembic decides as before.
`tests/storage/test_migration_state.py` checks that the head read here is Alembic's own.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from sqlalchemy import Connection, inspect, text

VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def _assigned_literals(source: str) -> dict[str, object]:
    """The module-level `name = <literal>` assignments of a migration script."""
    values: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return values


@functools.cache
def head_revision(versions_dir: Path) -> str | None:
    """The newest revision when the scripts in `versions_dir` form one line (each revises the
    one before, one script has no parent); None for branches, merges or anything unexpected."""
    parents: dict[str, str | None] = {}
    for script in sorted(versions_dir.glob("*.py")):
        values = _assigned_literals(script.read_text(encoding="utf-8"))
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)) \
                or revision in parents or values.get("depends_on") is not None:
            return None
        parents[revision] = down
    children = {down for down in parents.values() if down is not None}
    heads = [revision for revision in parents if revision not in children]
    roots = [revision for revision, down in parents.items() if down is None]
    if len(heads) != 1 or len(roots) != 1 or not children <= parents.keys():
        return None
    return heads[0]


def database_revisions(conn: Connection) -> set[str]:
    """The revisions the database records as applied (none for a new database)."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return set()
    return set(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def is_at_head(conn: Connection, versions_dir: Path) -> bool:
    head = head_revision(versions_dir)
    return head is not None and database_revisions(conn) == {head}
