"""i15: « Essai » (shadow mode): shadow_candidates, shadow_results

Revision ID: d7f9b1c3e5a7
Revises: b5d7f9a1c3e5
Create Date: 2026-12-07 17:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7f9b1c3e5a7'
down_revision = 'b5d7f9a1c3e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'shadow_candidates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Integer(), nullable=True),
        sa.Column('model_path', sa.String(length=1000), nullable=True),
        sa.Column('hf_config', sa.String(length=1000), nullable=True),
        sa.Column('model_name', sa.String(length=120), nullable=True),
        sa.Column('model_version', sa.String(length=200), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('thresholds', sa.JSON(), nullable=True),
        sa.Column('rules', sa.JSON(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('started_by', sa.String(length=200), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['started_by_id'], ['users.id'],
            name=op.f('fk_shadow_candidates_started_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_shadow_candidates')),
        sa.UniqueConstraint('active', name=op.f('uq_shadow_candidates_active')),
    )
    op.create_table(
        'shadow_results',
        sa.Column('candidate_id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('live_outcome', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('scores', sa.JSON(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['candidate_id'], ['shadow_candidates.id'],
            name=op.f('fk_shadow_results_candidate_id_shadow_candidates'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'],
            name=op.f('fk_shadow_results_comment_id_comments'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('candidate_id', 'comment_id', name=op.f('pk_shadow_results')),
    )


def downgrade():
    op.drop_table('shadow_results')
    op.drop_table('shadow_candidates')
