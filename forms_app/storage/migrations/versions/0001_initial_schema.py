"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 19:13:03.965181
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=8), nullable=False),
        sa.Column('service_id', sa.String(length=64), nullable=False),
        sa.Column('use_id', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('insured_name', sa.String(length=100), nullable=False),
        sa.Column('id_number_enc', sa.Text(), nullable=False),
        sa.Column('id_number_masked', sa.String(length=18), nullable=False),
        sa.Column('id_hash', sa.String(length=64), nullable=False),
        sa.Column('id_last4_hash', sa.String(length=64), nullable=False),
        sa.Column('phone_enc', sa.Text(), nullable=False),
        sa.Column('phone_masked', sa.String(length=11), nullable=False),
        sa.Column('applicant_relation', sa.String(length=16), nullable=False),
        sa.Column('applicant_name', sa.String(length=100), nullable=True),
        sa.Column('applicant_phone_enc', sa.Text(), nullable=True),
        sa.Column('applicant_phone_masked', sa.String(length=11), nullable=True),
        sa.Column('policy_number', sa.String(length=64), nullable=False),
        sa.Column('policy_effective', sa.Date(), nullable=False),
        sa.Column('policy_year_start', sa.Date(), nullable=False),
        sa.Column('diagnosis_date', sa.Date(), nullable=False),
        sa.Column('first_diagnosis', sa.Boolean(), nullable=False),
        sa.Column('city_id', sa.String(length=64), nullable=True),
        sa.Column('hospital_id', sa.String(length=64), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('consent_text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('submission_token', sa.String(length=64), nullable=False),
        sa.Column('content_version', sa.String(length=32), nullable=False),
        sa.Column('service_snapshot', sa.JSON(), nullable=False),
        sa.Column('initial_promises', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference'),
        sa.UniqueConstraint('submission_token')
    )
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_request_city_id'), ['city_id'])
        batch_op.create_index(batch_op.f('ix_service_request_created_at'), ['created_at'])
        batch_op.create_index(batch_op.f('ix_service_request_id_hash'), ['id_hash'])
        batch_op.create_index(batch_op.f('ix_service_request_service_id'), ['service_id'])
        batch_op.create_index(batch_op.f('ix_service_request_status'), ['status'])
        batch_op.create_index('ix_service_request_use_lookup',
                              ['policy_number', 'id_hash', 'use_id', 'policy_year_start'])

    op.create_table('audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'])
        batch_op.create_index(batch_op.f('ix_audit_log_request_id'), ['request_id'])

    op.create_table('outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient_enc', sa.Text(), nullable=True),
        sa.Column('recipient_masked', sa.String(length=64), nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_request_id'), ['request_id'])
        batch_op.create_index(batch_op.f('ix_outbox_sent_at'), ['sent_at'])

    op.create_table('request_document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('document_type', sa.String(length=64), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('extension', sa.String(length=8), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('mime', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('stored_name')
    )
    with op.batch_alter_table('request_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_document_request_id'), ['request_id'])

    op.create_table('request_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('event_date', sa.Date(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('request_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_event_request_id'), ['request_id'])



def downgrade() -> None:
    with op.batch_alter_table('request_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_event_request_id'))

    op.drop_table('request_event')
    with op.batch_alter_table('request_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_document_request_id'))

    op.drop_table('request_document')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_sent_at'))
        batch_op.drop_index(batch_op.f('ix_outbox_request_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_request_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_index('ix_service_request_use_lookup')
        batch_op.drop_index(batch_op.f('ix_service_request_status'))
        batch_op.drop_index(batch_op.f('ix_service_request_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_request_id_hash'))
        batch_op.drop_index(batch_op.f('ix_service_request_created_at'))
        batch_op.drop_index(batch_op.f('ix_service_request_city_id'))

    op.drop_table('service_request')
