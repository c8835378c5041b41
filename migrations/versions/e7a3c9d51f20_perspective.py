"""perspective: comments:analyze calls kept (api_analyses) and clients' moderator decisions
from comments:suggestscore (api_feedback), for « Calibration »

Revision ID: e7a3c9d51f20
Revises: d4e2b8a17c30
Create Date: 2026-12-07 00:21:34.599199

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a3c9d51f20'
down_revision = 'd4e2b8a17c30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_analyses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('model_name', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_analyses_client_id_api_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_analyses'))
    )
    with op.batch_alter_table('api_analyses', schema=None) as batch_op:
        batch_op.create_index('ix_api_analyses_created', ['created_at'], unique=False)

    op.create_table('api_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('suggested', sa.JSON(), nullable=False),
    sa.Column('client_token', sa.String(length=512), nullable=True),
    sa.Column('community_id', sa.String(length=512), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=True),
    sa.Column('model_name', sa.String(length=120), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f('ck_api_feedback_decision')),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_api_feedback_client_id_api_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_feedback'))
    )
    with op.batch_alter_table('api_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_api_feedback_created', ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('api_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_api_feedback_created')

    op.drop_table('api_feedback')
    with op.batch_alter_table('api_analyses', schema=None) as batch_op:
        batch_op.drop_index('ix_api_analyses_created')

    op.drop_table('api_analyses')
