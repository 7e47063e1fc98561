"""service_request: stored next due date, assignment, search hashes

Revision ID: 0009
Revises: 0008

For the staff queue at any size (ordered, counted and paginated in SQL):
- `next_due`, `next_due_promise`: the earliest due date of a promise whose clock runs and that
  is not fulfilled, and which promise (NULL when none runs, and for a closed request), kept by
  `storage/queue_order.refresh_due_state` on every change of a request's events or status;
- `assigned_to`: the staff username working on the request (NULL: nobody);
- `insured_name_hash`, `phone_hash`, `applicant_phone_hash`: keyed hashes (HMAC with
  `HASH_KEY`) for the staff search, never clear text;
- indexes: (status, next_due, created_at, id) replaces the index on status alone (it serves
  the same reads), assigned rows in the same order after assigned_to, each hash, and the two
  withdrawal times the list above the queue reads.

Existing rows are not backfilled here: the due date needs the promise engine and the content,
the hashes need `HASH_KEY` and `DATA_KEY`, neither of which a migration has. Run
`flask --app forms_app refresh-queue` once after upgrading (it fills both, in batches, and is
safe to repeat); until then older open requests show as "尚未起算" at the end of the queue and
are found by reference only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_HASHES = ('insured_name_hash', 'phone_hash', 'applicant_phone_hash')


def upgrade() -> None:
    with op.batch_alter_table('service_request') as batch:
        batch.add_column(sa.Column('next_due', sa.Date(), nullable=True))
        batch.add_column(sa.Column('next_due_promise', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('assigned_to', sa.String(length=64), nullable=True))
        for column in _HASHES:
            batch.add_column(sa.Column(column, sa.String(length=64), nullable=True))
    op.drop_index('ix_service_request_status', table_name='service_request')
    op.create_index('ix_service_request_queue', 'service_request',
                    ['status', 'next_due', 'created_at', 'id'])
    op.create_index('ix_service_request_assigned', 'service_request',
                    ['assigned_to', 'status', 'next_due', 'created_at', 'id'],
                    sqlite_where=sa.text('assigned_to IS NOT NULL'),
                    postgresql_where=sa.text('assigned_to IS NOT NULL'))
    for column in _HASHES:
        op.create_index(f'ix_service_request_{column}', 'service_request', [column])
    op.create_index('ix_service_request_withdrawn_at', 'service_request', ['withdrawn_at'])
    op.create_index('ix_service_request_consent_withdrawn_at', 'service_request',
                    ['consent_withdrawn_at'])


def downgrade() -> None:
    op.drop_index('ix_service_request_consent_withdrawn_at', table_name='service_request')
    op.drop_index('ix_service_request_withdrawn_at', table_name='service_request')
    for column in _HASHES:
        op.drop_index(f'ix_service_request_{column}', table_name='service_request')
    op.drop_index('ix_service_request_assigned', table_name='service_request')
    op.drop_index('ix_service_request_queue', table_name='service_request')
    op.create_index('ix_service_request_status', 'service_request', ['status'])
    with op.batch_alter_table('service_request') as batch:
        for column in reversed(_HASHES):
            batch.drop_column(column)
        batch.drop_column('assigned_to')
        batch.drop_column('next_due_promise')
        batch.drop_column('next_due')
