"""i12 api clients: sites and CMSs that call the API with a hashed key

Revision ID: d4e2b8a17c30
Revises: c3a9d1f0e8b2
Create Date: 2026-12-02 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4e2b8a17c30'
down_revision = 'c3a9d1f0e8b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_clients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('key_prefix', sa.String(length=16), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('quota', sa.String(length=200), nullable=False),
        sa.Column('coral_secret', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
        sa.UniqueConstraint('key_prefix', name=op.f('uq_api_clients_key_prefix')),
        sa.UniqueConstraint('name', name=op.f('uq_api_clients_name')),
    )


def downgrade():
    op.drop_table('api_clients')
