"""i15: « Choix de la rédaction » (comments.featured_at)

Revision ID: a4b6c8d0e2f4
Revises: f3c5d7e9a1b2
Create Date: 2026-12-07 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4b6c8d0e2f4'
down_revision = 'f3c5d7e9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('featured_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('featured_at')
