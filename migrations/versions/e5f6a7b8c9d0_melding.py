"""melding: a handover ticket can be a melding (signaal) by someone else, with terugkoppeling

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'e5f6a7b8c9d0'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_handover_ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('melding', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('terugkoppeling_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbox_handover_ticket', schema=None) as batch_op:
        batch_op.drop_column('terugkoppeling_at')
        batch_op.drop_column('melding')
