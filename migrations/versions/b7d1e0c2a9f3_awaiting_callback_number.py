"""conversation.awaiting_callback_number: the bot asked a web resident for a phone number

Revision ID: b7d1e0c2a9f3
Revises: 4f472a19bc9b
Create Date: 2026-11-23 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'b7d1e0c2a9f3'
down_revision = '4f472a19bc9b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.add_column(sa.Column('awaiting_callback_number', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('conversation') as batch:
        batch.drop_column('awaiting_callback_number')
