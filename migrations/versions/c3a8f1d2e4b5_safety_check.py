"""conversation.safety_check(+_message_id): a possible crisis awaits the resident's answer

Revision ID: c3a8f1d2e4b5
Revises: b7d1e0c2a9f3
Create Date: 2026-12-02 07:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'c3a8f1d2e4b5'
down_revision = 'b7d1e0c2a9f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('safety_check', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('safety_check_message_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('safety_check_message_id')
        batch.drop_column('safety_check')
