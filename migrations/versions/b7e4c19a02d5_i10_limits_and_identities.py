"""i10 limits and identities: nudge revisions, weighed reports, sanctions on accounts

Revision ID: b7e4c19a02d5
Revises: 9d3d47146996
Create Date: 2026-12-01 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4c19a02d5'
down_revision = '9d3d47146996'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revisions', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('report_weight', sa.Double(), nullable=False, server_default='0'))
    # Reports stored before weights counted for one each, as they did.
    op.execute('UPDATE comments SET report_weight = report_count')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('revisions', server_default=None)
        batch_op.alter_column('report_weight', server_default=None)

    with op.batch_alter_table('comment_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weight', sa.Double(), nullable=False, server_default='1'))
    with op.batch_alter_table('comment_reports', schema=None) as batch_op:
        batch_op.alter_column('weight', server_default=None)

    with op.batch_alter_table('reader_restrictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reader_restrictions_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_reader_restrictions_user', ['user_id', 'lifted_at'], unique=False)
    # A sanction stored before on an address that an account uses was meant for that account.
    op.execute(
        'UPDATE reader_restrictions SET user_id = '
        '(SELECT users.id FROM users WHERE users.email = reader_restrictions.email)'
    )


def downgrade():
    with op.batch_alter_table('reader_restrictions', schema=None) as batch_op:
        batch_op.drop_index('ix_reader_restrictions_user')
        batch_op.drop_constraint(batch_op.f('fk_reader_restrictions_user_id_users'), type_='foreignkey')
        batch_op.drop_column('user_id')

    with op.batch_alter_table('comment_reports', schema=None) as batch_op:
        batch_op.drop_column('weight')

    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('report_weight')
        batch_op.drop_column('revisions')
