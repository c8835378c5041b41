"""i13 moderation API: staff accounts' API tokens, and API clients' scopes

Revision ID: a7d2e9c41b63
Revises: a7d3e9b1c5f2
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d2e9c41b63'
down_revision = 'a7d3e9b1c5f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'staff_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('key_prefix', sa.String(length=16), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_staff_tokens_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_tokens')),
        sa.UniqueConstraint('key_prefix', name=op.f('uq_staff_tokens_key_prefix')),
    )
    op.create_index('ix_staff_tokens_user', 'staff_tokens', ['user_id'], unique=False)
    # Existing clients keep what they could do: score texts, no moderation.
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('scopes', sa.JSON(), nullable=False, server_default='[]')
        )


def downgrade():
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('scopes')
    op.drop_index('ix_staff_tokens_user', table_name='staff_tokens')
    op.drop_table('staff_tokens')
