"""i12 coral: what we answered Coral's external moderation phase, and why

Revision ID: e7c1a9d3f5b2
Revises: e7a3c9d51f20
Create Date: 2026-12-07 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7c1a9d3f5b2'
down_revision = 'e7a3c9d51f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'coral_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('action', sa.String(length=8), nullable=False),
        sa.Column('tenant_id', sa.String(length=200), nullable=False),
        sa.Column('tenant_domain', sa.String(length=255), nullable=False),
        sa.Column('site_id', sa.String(length=200), nullable=False),
        sa.Column('story_id', sa.String(length=200), nullable=False),
        sa.Column('story_url', sa.Text(), nullable=False),
        sa.Column('author_id', sa.String(length=200), nullable=False),
        sa.Column('author_role', sa.String(length=32), nullable=False),
        sa.Column('parent_id', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('request_hash', sa.String(length=64), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('scores', sa.JSON(), nullable=True),
        sa.Column('model_name', sa.String(length=120), nullable=True),
        sa.Column('model_version', sa.String(length=200), nullable=True),
        sa.Column('http_status', sa.Integer(), nullable=False),
        sa.Column('coral_status', sa.String(length=20), nullable=True),
        sa.Column('flagged', sa.Boolean(), nullable=False),
        sa.CheckConstraint("action IN ('NEW', 'EDIT')", name=op.f('ck_coral_decisions_action')),
        sa.CheckConstraint(
            "outcome IN ('publish', 'hold', 'reject', 'nudge')",
            name=op.f('ck_coral_decisions_outcome'),
        ),
        sa.CheckConstraint(
            "coral_status IN ('APPROVED', 'REJECTED', 'PREMOD', 'SYSTEM_WITHHELD')",
            name=op.f('ck_coral_decisions_coral_status'),
        ),
        sa.ForeignKeyConstraint(
            ['client_id'], ['api_clients.id'],
            name=op.f('fk_coral_decisions_client_id_api_clients'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_coral_decisions')),
    )
    op.create_index('ix_coral_decisions_received', 'coral_decisions', ['received_at'])
    op.create_index('ix_coral_decisions_client', 'coral_decisions', ['client_id', 'id'])
    op.create_index('ix_coral_decisions_outcome', 'coral_decisions', ['outcome', 'id'])
    op.create_index(
        'ix_coral_decisions_request', 'coral_decisions', ['client_id', 'request_hash']
    )


def downgrade():
    op.drop_index('ix_coral_decisions_request', table_name='coral_decisions')
    op.drop_index('ix_coral_decisions_outcome', table_name='coral_decisions')
    op.drop_index('ix_coral_decisions_client', table_name='coral_decisions')
    op.drop_index('ix_coral_decisions_received', table_name='coral_decisions')
    op.drop_table('coral_decisions')
