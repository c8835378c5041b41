"""i15: « Avertir » a reader (reader_warnings)

Revision ID: c6e8a0b2d4f6
Revises: e9a1c3e5f7b9
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6e8a0b2d4f6'
down_revision = 'e9a1c3e5f7b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reader_warnings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('form_token', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_reader_warnings_user_id_users'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'],
            name=op.f('fk_reader_warnings_comment_id_comments'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_reader_warnings_created_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reader_warnings')),
        sa.UniqueConstraint('form_token', name=op.f('uq_reader_warnings_form_token')),
    )
    with op.batch_alter_table('reader_warnings', schema=None) as batch_op:
        batch_op.create_index('ix_reader_warnings_email', ['email', 'acknowledged_at'], unique=False)
        batch_op.create_index('ix_reader_warnings_user', ['user_id', 'acknowledged_at'], unique=False)


def downgrade():
    with op.batch_alter_table('reader_warnings', schema=None) as batch_op:
        batch_op.drop_index('ix_reader_warnings_user')
        batch_op.drop_index('ix_reader_warnings_email')
    op.drop_table('reader_warnings')
