"""status links that can be revoked; the name an applicant gave each file

Revision ID: 0011
Revises: 0010

`status_link`: one row per link sent or shown to the applicant. The token itself is never
stored, only its keyed hash (HMAC with HASH_KEY, `storage/status_links.py`), with the request
it opens, when it expires (120 days) and when it was revoked (the applicant withdrew, the
data was deleted, staff or the applicant stopped the old links).
`service_request.status_links_revoked_at`: links signed by earlier versions (`?t=`, the
reference signed with SECRET_KEY) have no row; they are accepted until they expire unless the
request's links were revoked after they were made.
`request_document.display_name`: the file's name as the applicant chose it (printable
characters, at most 80), shown to the applicant only; empty for files stored before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'status_link',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('request_id', sa.Integer(),
                  sa.ForeignKey('service_request.id', ondelete='CASCADE'), nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('uq_status_link_token_hash', 'status_link', ['token_hash'], unique=True)
    op.create_index('ix_status_link_request_id', 'status_link', ['request_id'])
    with op.batch_alter_table('service_request') as batch:
        batch.add_column(sa.Column('status_links_revoked_at', sa.DateTime(timezone=True),
                                   nullable=True))
    with op.batch_alter_table('request_document') as batch:
        batch.add_column(sa.Column('display_name', sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('request_document') as batch:
        batch.drop_column('display_name')
    with op.batch_alter_table('service_request') as batch:
        batch.drop_column('status_links_revoked_at')
    op.drop_index('ix_status_link_request_id', table_name='status_link')
    op.drop_index('uq_status_link_token_hash', table_name='status_link')
    op.drop_table('status_link')
