"""novelty and history: origin of entities and documents, entities waiting for a fetched one, history tasks;
the meta table (the catalog's fingerprint); covering indexes for the stage reached

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 20:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # What an existing installation stored was read as news; it keeps that origin.
    with op.batch_alter_table('tk_entity') as batch:
        batch.add_column(sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                   server_default='news'))
    with op.batch_alter_table('document') as batch:
        batch.add_column(sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                   server_default='news'))
    op.create_table('tk_waiting',
    sa.Column('missing', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('waiter', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('missing', 'waiter')
    )
    op.create_index('ix_tk_waiting_waiter', 'tk_waiting', ['waiter'], unique=False)
    op.create_table('history_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('next_record', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('documents', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'value')
    )
    op.create_index('ix_evidence_counting', 'evidence', ['status', 'slug', 'stage', 'event_id', 'document_key'],
                    unique=False)
    op.create_index('ix_event_status', 'event', ['id', 'status'], unique=False)
    op.create_table('meta',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('meta')
    op.drop_index('ix_event_status', table_name='event')
    op.drop_index('ix_evidence_counting', table_name='evidence')
    op.drop_table('history_task')
    op.drop_index('ix_tk_waiting_waiter', table_name='tk_waiting')
    op.drop_table('tk_waiting')
    with op.batch_alter_table('document') as batch:
        batch.drop_column('origin')
    with op.batch_alter_table('tk_entity') as batch:
        batch.drop_column('origin')
