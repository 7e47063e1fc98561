"""casework: internal notes, undone events

Revision ID: 0010
Revises: 0009

`casework_note`: staff's internal notes on a request (who, when, the text). The text may hold
health data, so it is stored encrypted with `DATA_KEY` (Fernet, like ID numbers and phones);
the rows are deleted with the request's personal data.

`request_event.undone_at`, `undone_by`, `undo_reason`: an event staff recorded by mistake (or
the event that ended a request which staff reopened) is marked undone instead of deleted, so
the audit keeps it; an undone event no longer counts for promises, status, timeline or
messages. Rows from before this revision are not undone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'casework_note',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('request_id', sa.Integer(),
                  sa.ForeignKey('service_request.id', ondelete='CASCADE'), nullable=False),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text_enc', sa.Text(), nullable=False),
    )
    op.create_index('ix_casework_note_request_id', 'casework_note', ['request_id'])
    with op.batch_alter_table('request_event') as batch:
        batch.add_column(sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('undone_by', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('undo_reason', sa.String(length=500), nullable=True))


def downgrade() -> None:
    # an undone event must not count again once the columns are gone
    op.execute("DELETE FROM request_event WHERE undone_at IS NOT NULL")
    with op.batch_alter_table('request_event') as batch:
        batch.drop_column('undo_reason')
        batch.drop_column('undone_by')
        batch.drop_column('undone_at')
    op.drop_index('ix_casework_note_request_id', table_name='casework_note')
    op.drop_table('casework_note')
