"""i15: a reader edits their comment (comments.edited_at, comment_revisions)

Revision ID: e8b2c4d6f1a3
Revises: d5a17e2c9b40
Create Date: 2026-12-07 15:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8b2c4d6f1a3'
down_revision = 'd5a17e2c9b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'comment_revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'],
            name=op.f('fk_comment_revisions_comment_id_comments'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_revisions')),
    )
    with op.batch_alter_table('comment_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_comment_revisions_comment', ['comment_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('comment_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_revisions_comment')
    op.drop_table('comment_revisions')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
