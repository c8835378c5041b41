"""i11 audit details: what an audit row's reason is made of, for the viewer's language

Revision ID: c3a9d1f0e8b2
Revises: b7e4c19a02d5
Create Date: 2026-12-02 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a9d1f0e8b2'
down_revision = 'b7e4c19a02d5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('moderation_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('moderation_actions', schema=None) as batch_op:
        batch_op.drop_column('details')
