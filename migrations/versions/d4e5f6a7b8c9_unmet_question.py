"""unmet_question: questions the sociale kaart had no fitting offer for (the gaps)

Revision ID: d4e5f6a7b8c9
Revises: c3a8f1d2e4b5
Create Date: 2026-12-03 08:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'd4e5f6a7b8c9'
down_revision = 'c3a8f1d2e4b5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'unmet_question',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('gemeente', sa.String(length=120), nullable=True),
        sa.Column('levensgebieden', sa.String(length=300), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('unmet_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unmet_question_asked_at'), ['asked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unmet_question_gemeente'), ['gemeente'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('unmet_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unmet_question_gemeente'))
        batch_op.drop_index(batch_op.f('ix_unmet_question_asked_at'))
    op.drop_table('unmet_question')
