"""outbox: when a message may be tried next

Revision ID: 0008
Revises: 0007

`outbox.next_attempt_at`: a sender claims a message by moving it forward (a lease: no other
worker takes it while it is being sent), and a failed try moves it by the back-off. Empty for
rows queued before this revision: they are due at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('next_attempt_at')
