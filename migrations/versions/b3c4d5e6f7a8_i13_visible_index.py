"""comments: an index to count a story's visible comments without reading them

Revision ID: b3c4d5e6f7a8
Revises: a7d2e9c41b63
Create Date: 2026-12-07 05:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3c4d5e6f7a8'
down_revision = 'a7d2e9c41b63'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_comments_article_visible', 'comments', ['article_id', 'status', 'hidden']
    )


def downgrade():
    op.drop_index('ix_comments_article_visible', table_name='comments')
