"""api: each API client's calls and errors per day (« Réglages » › « Clients de l’API »)

Revision ID: e5f1a2b3c4d6
Revises: e7c1a9d3f5b2
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f1a2b3c4d6'
down_revision = 'e7c1a9d3f5b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_client_usage',
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('errors', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=64), nullable=True),
        sa.Column('last_error_status', sa.Integer(), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['client_id'], ['api_clients.id'],
            name=op.f('fk_api_client_usage_client_id_api_clients'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('client_id', 'day', name=op.f('pk_api_client_usage')),
    )


def downgrade():
    op.drop_table('api_client_usage')
