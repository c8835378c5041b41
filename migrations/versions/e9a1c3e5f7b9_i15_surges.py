"""i15: surges (articles.surge_until, surge_started_at, surge_trigger)

Revision ID: e9a1c3e5f7b9
Revises: a4b6c8d0e2f4
Create Date: 2026-12-07 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9a1c3e5f7b9'
down_revision = 'a4b6c8d0e2f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('surge_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column('surge_started_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('surge_trigger', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('surge_trigger')
        batch_op.drop_column('surge_started_at')
        batch_op.drop_column('surge_until')
