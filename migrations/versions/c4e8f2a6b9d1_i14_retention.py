"""i14 retention: a rejected comment's erased text is marked, and periodic jobs hold a lease

Revision ID: c4e8f2a6b9d1
Revises: c4d5e6f7a8b9
Create Date: 2026-12-07 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8f2a6b9d1'
down_revision = 'c4d5e6f7a8b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_erased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'maintenance_runs',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=32), nullable=True),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_result', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_maintenance_runs')),
    )


def downgrade():
    op.drop_table('maintenance_runs')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('text_erased_at')
