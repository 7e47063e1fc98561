"""drop indexes no query uses (each one was written on every submission)

Revision ID: 0003
Revises: 0002

Queries on service_request: by reference (unique), by submission_token (unique), the "already
used" check (ix_service_request_use_lookup: policy_number, id_hash, use_id,
policy_year_start), the staff queue (status IN ..., optional service_id/city_id equality,
ORDER BY created_at, id: ix_service_request_status narrows it to the active requests; the
rest is filtered and sorted in the few rows left) and reports (full scans). No query looks up
by city_id, service_id, id_hash or created_at alone, and the audit log is only read by
request_id. Dropping these five indexes takes a submission from 17 to 12 B-trees written.
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_REQUEST_INDEXES = {
    'ix_service_request_city_id': ['city_id'],
    'ix_service_request_created_at': ['created_at'],
    'ix_service_request_id_hash': ['id_hash'],
    'ix_service_request_service_id': ['service_id'],
}


def upgrade() -> None:
    for name in _REQUEST_INDEXES:
        op.drop_index(name, table_name='service_request')
    op.drop_index('ix_audit_log_at', table_name='audit_log')


def downgrade() -> None:
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])
    for name, columns in _REQUEST_INDEXES.items():
        op.create_index(name, 'service_request', columns)
