"""internal notes, undone events, reopened requests

Revision ID: 0010
Revises: 0009

Reserved in the chain; filled in by the change that needs it.
"""

from __future__ import annotations

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
