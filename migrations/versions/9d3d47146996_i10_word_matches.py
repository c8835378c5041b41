"""i10 word matches: the word lists' matches stored with the comment at decision time

Revision ID: 9d3d47146996
Revises: 60a90cd9915a
Create Date: 2026-12-01 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9d3d47146996'
down_revision = '60a90cd9915a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('word_matches', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('word_matches')
