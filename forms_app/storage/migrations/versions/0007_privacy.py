"""privacy: the notice version agreed to, withdrawal, deletion of personal data

Revision ID: 0007
Revises: 0006

`service_request` gets the version of the privacy notice shown when the request was made
(`notice_version`; the consent's own version is `consent_version`, 0006), when the applicant
withdrew the request (`withdrawn_at`) or the consent (`consent_withdrawn_at`), and when its
personal data was deleted (`personal_data_deleted_at`, why in `deletion_reason`). A deleted
request keeps only what reports need, so the columns that held health data
(`diagnosis_date`, `policy_effective`) may now be empty.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_request') as batch:
        batch.add_column(sa.Column('notice_version', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('consent_withdrawn_at', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('personal_data_deleted_at', sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('deletion_reason', sa.String(length=32), nullable=True))
        batch.alter_column('diagnosis_date', existing_type=sa.Date(), nullable=True)
        batch.alter_column('policy_effective', existing_type=sa.Date(), nullable=True)
    # the retention job reads requests whose data is still held
    op.create_index('ix_service_request_personal_data_deleted_at', 'service_request',
                    ['personal_data_deleted_at'])


def downgrade() -> None:
    op.drop_index('ix_service_request_personal_data_deleted_at', table_name='service_request')
    # a deleted request has no such dates left: its policy year's start stands in (a date the
    # request keeps, never the health data that was deleted)
    op.execute("UPDATE service_request SET diagnosis_date = policy_year_start "
               "WHERE diagnosis_date IS NULL")
    op.execute("UPDATE service_request SET policy_effective = policy_year_start "
               "WHERE policy_effective IS NULL")
    with op.batch_alter_table('service_request') as batch:
        batch.alter_column('policy_effective', existing_type=sa.Date(), nullable=False)
        batch.alter_column('diagnosis_date', existing_type=sa.Date(), nullable=False)
        batch.drop_column('deletion_reason')
        batch.drop_column('personal_data_deleted_at')
        batch.drop_column('consent_withdrawn_at')
        batch.drop_column('withdrawn_at')
        batch.drop_column('notice_version')
