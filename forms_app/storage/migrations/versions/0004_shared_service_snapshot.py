"""service snapshots stored once (service_snapshot table) instead of in every request row

Revision ID: 0004
Revises: 0003

Every request kept its own copy of the service snapshot (~2.4 KB of JSON, the same for every
request made under one content version). Now each distinct snapshot is one `service_snapshot`
row keyed by the SHA-256 of its canonical JSON, and `service_request.snapshot_id` points to it
(`ServiceRequest.service_snapshot` reads it, same shape as before). Existing rows are moved
over; the downgrade copies the snapshots back into the request rows.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _digest(snapshot: dict) -> str:  # type: ignore[type-arg]
    # the same as forms_app.store.snapshot_digest (copied: a migration must not change later)
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _requests(with_snapshot: bool) -> sa.Table:
    cols = [sa.Column('id', sa.Integer, primary_key=True),
            sa.Column('content_version', sa.String(32)),
            sa.Column('service_id', sa.String(64)),
            sa.Column('snapshot_id', sa.Integer)]
    if with_snapshot:
        cols.append(sa.Column('service_snapshot', sa.JSON))
    return sa.table('service_request', *cols)


_SNAPSHOTS = sa.table('service_snapshot', sa.Column('id', sa.Integer),
                      sa.Column('digest', sa.String(64)),
                      sa.Column('content_version', sa.String(32)),
                      sa.Column('service_id', sa.String(64)), sa.Column('snapshot', sa.JSON))


def upgrade() -> None:
    op.create_table('service_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('content_version', sa.String(length=32), nullable=False),
        sa.Column('service_id', sa.String(length=64), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('digest'),
    )
    with op.batch_alter_table('service_request') as batch_op:
        batch_op.add_column(sa.Column('snapshot_id', sa.Integer(), nullable=True))

    conn = op.get_bind()
    requests = _requests(with_snapshot=True)
    ids: dict[str, int] = {}
    rows = conn.execute(sa.select(requests.c.id, requests.c.content_version,
                                  requests.c.service_id, requests.c.service_snapshot)).all()
    for req_id, version, service_id, snapshot in rows:
        digest = _digest(snapshot)
        if digest not in ids:
            conn.execute(_SNAPSHOTS.insert().values(
                digest=digest, content_version=version, service_id=service_id,
                snapshot=snapshot))
            ids[digest] = conn.scalar(sa.select(_SNAPSHOTS.c.id)
                                      .where(_SNAPSHOTS.c.digest == digest))
        conn.execute(requests.update().where(requests.c.id == req_id)
                     .values(snapshot_id=ids[digest]))

    with op.batch_alter_table('service_request') as batch_op:
        batch_op.alter_column('snapshot_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_service_request_snapshot_id', 'service_snapshot',
                                    ['snapshot_id'], ['id'])
        batch_op.drop_column('service_snapshot')


def downgrade() -> None:
    with op.batch_alter_table('service_request') as batch_op:
        batch_op.add_column(sa.Column('service_snapshot', sa.JSON(), nullable=True))
    conn = op.get_bind()
    requests = _requests(with_snapshot=True)
    snapshots = {sid: snap for sid, snap in
                 conn.execute(sa.select(_SNAPSHOTS.c.id, _SNAPSHOTS.c.snapshot))}
    for req_id, snapshot_id in conn.execute(sa.select(requests.c.id, requests.c.snapshot_id)
                                            ).all():
        conn.execute(requests.update().where(requests.c.id == req_id)
                     .values(service_snapshot=snapshots[snapshot_id]))
    with op.batch_alter_table('service_request') as batch_op:
        batch_op.alter_column('service_snapshot', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint('fk_service_request_snapshot_id', type_='foreignkey')
        batch_op.drop_column('snapshot_id')
    op.drop_table('service_snapshot')
