"""outbox: how far each of our WhatsApp messages got (held, queued, sent, delivered, read, failed)

Revision ID: d0e1f2a3b4c5
Revises: c9d0e1f2a3b4
Create Date: 2026-12-04 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'd0e1f2a3b4c5'
down_revision = 'c9d0e1f2a3b4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('delivery', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('delivery_attempts', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('delivery_error', sa.String(length=16), nullable=True))
        batch.create_index('ix_message_delivery', ['delivery'])
    # Staff messages on WhatsApp that never reached Twilio were recognised by an empty
    # external_id; they are held now, and those with a Twilio id went out (no report kept).
    op.execute(
        "UPDATE message SET delivery = CASE WHEN external_id IS NULL THEN 'held' ELSE 'sent' END, "
        "delivery_attempts = CASE WHEN external_id IS NULL THEN 0 ELSE 1 END "
        "WHERE sender = 'staff' AND conversation_id IN (SELECT id FROM conversation WHERE channel = 'whatsapp')"
    )


def downgrade() -> None:
    # The old rule: a staff message without a Twilio id is held.
    op.execute("UPDATE message SET external_id = NULL WHERE delivery = 'held' AND sender = 'staff'")
    with op.batch_alter_table('message') as batch:
        batch.drop_index('ix_message_delivery')
        batch.drop_column('delivery_error')
        batch.drop_column('delivery_attempts')
        batch.drop_column('delivery')
