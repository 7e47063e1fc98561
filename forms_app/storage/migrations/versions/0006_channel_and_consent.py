"""how a request came in and how consent was given: channel, consent method, who recorded it,
which consent text version

Revision ID: 0006
Revises: 0005

A request opened by staff for a caller on the hotline records `channel = 'hotline'` and the
consent as given by phone (`consent_method = 'phone'`, the staff member who read it out, and the
version of the consent text read). Existing requests came from the online form.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_request') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=16), nullable=False,
                                   server_default='online'))
        batch.add_column(sa.Column('consent_method', sa.String(length=16), nullable=False,
                                   server_default='online_form'))
        batch.add_column(sa.Column('consent_recorded_by', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('consent_version', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('service_request') as batch:
        batch.drop_column('consent_version')
        batch.drop_column('consent_recorded_by')
        batch.drop_column('consent_method')
        batch.drop_column('channel')
