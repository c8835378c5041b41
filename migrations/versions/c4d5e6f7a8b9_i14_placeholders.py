"""comments: placeholders (`removed`): a comment deleted or erased that holds its thread

Revision ID: c4d5e6f7a8b9
Revises: b3c4d5e6f7a8
Create Date: 2026-12-07 07:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d5e6f7a8b9'
down_revision = 'b3c4d5e6f7a8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments') as batch_op:
        batch_op.add_column(sa.Column('removed', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint('removed', "removed IN ('author', 'upstream')")
        batch_op.drop_index('ix_comments_article_visible')
        batch_op.create_index(
            'ix_comments_article_visible', ['article_id', 'status', 'hidden', 'removed']
        )


def downgrade():
    with op.batch_alter_table('comments') as batch_op:
        batch_op.drop_index('ix_comments_article_visible')
        batch_op.create_index('ix_comments_article_visible', ['article_id', 'status', 'hidden'])
        batch_op.drop_constraint('ck_comments_removed', type_='check')
        batch_op.drop_column('removed')
