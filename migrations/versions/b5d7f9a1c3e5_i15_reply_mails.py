"""i15: reply notifications by mail (users.reply_mails, reply_subscriptions, reply_mails)

Revision ID: b5d7f9a1c3e5
Revises: c6e8a0b2d4f6
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5d7f9a1c3e5'
down_revision = 'c6e8a0b2d4f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('reply_mails', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        'reply_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_subscriptions')),
        sa.UniqueConstraint('email', name=op.f('uq_reply_subscriptions_email')),
    )
    op.create_table(
        'reply_mails',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reply_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['reply_id'], ['comments.id'],
            name=op.f('fk_reply_mails_reply_id_comments'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_mails')),
        sa.UniqueConstraint('reply_id', name=op.f('uq_reply_mails_reply_id')),
    )
    op.create_index('ix_reply_mails_pending', 'reply_mails', ['sent_at', 'created_at'])


def downgrade():
    op.drop_index('ix_reply_mails_pending', table_name='reply_mails')
    op.drop_table('reply_mails')
    op.drop_table('reply_subscriptions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('reply_mails')
