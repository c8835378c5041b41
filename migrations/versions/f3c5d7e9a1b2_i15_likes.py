"""i15: readers' « J'aime » (comment_likes, comments.like_count)

Revision ID: f3c5d7e9a1b2
Revises: e8b2c4d6f1a3
Create Date: 2026-12-07 15:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3c5d7e9a1b2'
down_revision = 'e8b2c4d6f1a3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('like_count', sa.Integer(), server_default='0', nullable=False)
        )
    op.create_table(
        'comment_likes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('liker_key', sa.String(length=100), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'],
            name=op.f('fk_comment_likes_comment_id_comments'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_comment_likes_user_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_likes')),
        sa.UniqueConstraint('comment_id', 'liker_key', name='one_like_per_reader'),
    )
    op.create_index('ix_comment_likes_user', 'comment_likes', ['user_id'])


def downgrade():
    op.drop_index('ix_comment_likes_user', table_name='comment_likes')
    op.drop_table('comment_likes')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('like_count')
