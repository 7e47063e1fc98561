"""policy register: roster imports, policy records, verification on requests, supervisors

Revision ID: 0005
Revises: 0004

`roster_import` keeps every import of the insurer's roster (who, when, file digest, counts,
refused lines); `policy_record` one row per (policy number, insured), the ID number as a keyed
hash and encrypted. `service_request` gets how it stood against the register
(`register_status`: existing requests were made without one, so `unverified`), and
`staff_user.supervisor` who may import.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roster_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('file_format', sa.String(length=8), nullable=False),
        sa.Column('file_sha256', sa.String(length=64), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('added', sa.Integer(), nullable=False),
        sa.Column('changed', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('refused', sa.Integer(), nullable=False),
        sa.Column('file_problem', sa.Text(), nullable=True),
        sa.Column('refused_rows', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table('policy_record',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('policy_number', sa.String(length=32), nullable=False),
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('id_number_enc', sa.Text(), nullable=False),
        sa.Column('id_number_masked', sa.String(length=18), nullable=False),
        sa.Column('insured_name', sa.String(length=100), nullable=False),
        sa.Column('first_effective', sa.Date(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('waiting_period_days', sa.Integer(), nullable=True),
        sa.Column('plan', sa.String(length=64), nullable=True),
        sa.Column('row_hash', sa.String(length=64), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('source_line', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['roster_import.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_policy_record_id_hash', 'policy_record', ['id_hash'])
    op.create_index('uq_policy_record_policy_insured', 'policy_record',
                    ['policy_number', 'id_hash'], unique=True)
    with op.batch_alter_table('service_request') as batch_op:
        batch_op.add_column(sa.Column('register_status', sa.String(length=16), nullable=False,
                                      server_default='unverified'))
        batch_op.add_column(sa.Column('register_import_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('register_note', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key('fk_service_request_register_import_id', 'roster_import',
                                    ['register_import_id'], ['id'])
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.add_column(sa.Column('supervisor', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('staff_user') as batch_op:
        batch_op.drop_column('supervisor')
    with op.batch_alter_table('service_request') as batch_op:
        batch_op.drop_constraint('fk_service_request_register_import_id', type_='foreignkey')
        batch_op.drop_column('register_note')
        batch_op.drop_column('register_import_id')
        batch_op.drop_column('register_status')
    op.drop_index('uq_policy_record_policy_insured', table_name='policy_record')
    op.drop_index('ix_policy_record_id_hash', table_name='policy_record')
    op.drop_table('policy_record')
    op.drop_table('roster_import')
