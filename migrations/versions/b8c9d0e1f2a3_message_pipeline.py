"""message_pipeline: resident messages the bot has not answered yet are retried (conversations/pipeline.py)

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-04 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'b8c9d0e1f2a3'
down_revision = 'a7b8c9d0e1f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('bot_text', sa.Text(), nullable=True))
        batch.add_column(sa.Column('bot_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('bot_retry_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_message_bot_retry_at', ['bot_retry_at'])


def downgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.drop_index('ix_message_bot_retry_at')
        batch.drop_column('bot_retry_at')
        batch.drop_column('bot_attempts')
        batch.drop_column('bot_text')
