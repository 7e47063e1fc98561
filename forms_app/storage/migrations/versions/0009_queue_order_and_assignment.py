"""service_request: stored next due date, assignment, search hashes

Revision ID: 0009
Revises: 0008

Reserved in the chain; filled in by the change that needs it.
"""

from __future__ import annotations

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
