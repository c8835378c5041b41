"""comments: where an imported comment came from, its key there, and scores without a decision

Revision ID: d5e6f7a8b9c0
Revises: c8d2f4a6b1e3
Create Date: 2026-12-07 06:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd5e6f7a8b9c0'
down_revision = 'c8d2f4a6b1e3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imported_from', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('import_key', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('score_only', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_unique_constraint(batch_op.f('uq_comments_import_key'), ['import_key'])

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('score_only', server_default=None)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_comments_import_key'), type_='unique')
        batch_op.drop_column('score_only')
        batch_op.drop_column('import_key')
        batch_op.drop_column('imported_from')
