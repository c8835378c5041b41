"""i14 DSA: statements of reasons (Art. 17) and complaints (Art. 20)

Revision ID: d5a17e2c9b40
Revises: d5e6f7a8b9c0
Create Date: 2026-12-07 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5a17e2c9b40'
down_revision = 'd5e6f7a8b9c0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dsa_statements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('puid', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('restriction_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('source_type', sa.String(length=40), nullable=False),
        sa.Column('decision_visibility', sa.String(length=60), nullable=True),
        sa.Column('decision_visibility_other', sa.String(length=500), nullable=True),
        sa.Column('decision_account', sa.String(length=60), nullable=True),
        sa.Column('decision_provision', sa.String(length=60), nullable=True),
        sa.Column('end_date', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_ground', sa.String(length=60), nullable=False),
        sa.Column('legal_ground', sa.String(length=40), nullable=True),
        sa.Column('ground_text', sa.Text(), nullable=False),
        sa.Column('ground_explanation', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=80), nullable=False),
        sa.Column('decision_facts', sa.Text(), nullable=False),
        sa.Column('automated_detection', sa.Boolean(), nullable=False),
        sa.Column('automated_decision', sa.String(length=40), nullable=False),
        sa.Column('content_date', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=False),
        sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source_type IN ('SOURCE_ARTICLE_16', 'SOURCE_TRUSTED_FLAGGER', 'SOURCE_VOLUNTARY')",
            name=op.f('ck_dsa_statements_source_type'),
        ),
        sa.CheckConstraint(
            "decision_ground IN ('DECISION_GROUND_ILLEGAL_CONTENT', "
            "'DECISION_GROUND_INCOMPATIBLE_CONTENT')",
            name=op.f('ck_dsa_statements_decision_ground'),
        ),
        sa.CheckConstraint(
            "automated_decision IN ('AUTOMATED_DECISION_FULLY', 'AUTOMATED_DECISION_PARTIALLY', "
            "'AUTOMATED_DECISION_NOT_AUTOMATED')",
            name=op.f('ck_dsa_statements_automated_decision'),
        ),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'],
            name=op.f('fk_dsa_statements_comment_id_comments'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['restriction_id'], ['reader_restrictions.id'],
            name=op.f('fk_dsa_statements_restriction_id_reader_restrictions'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_dsa_statements_user_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['users.id'],
            name=op.f('fk_dsa_statements_decided_by_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['notice_id'], ['dsa_notices.id'],
            name=op.f('fk_dsa_statements_notice_id_dsa_notices'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dsa_statements')),
        sa.UniqueConstraint('puid', name=op.f('uq_dsa_statements_puid')),
    )
    op.create_index('ix_dsa_statements_created', 'dsa_statements', ['created_at'])
    op.create_index('ix_dsa_statements_comment', 'dsa_statements', ['comment_id'])
    op.create_index('ix_dsa_statements_restriction', 'dsa_statements', ['restriction_id'])
    op.create_table(
        'dsa_complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'upheld', 'reversed')", name=op.f('ck_dsa_complaints_status')
        ),
        sa.ForeignKeyConstraint(
            ['statement_id'], ['dsa_statements.id'],
            name=op.f('fk_dsa_complaints_statement_id_dsa_statements'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['users.id'],
            name=op.f('fk_dsa_complaints_decided_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dsa_complaints')),
        sa.UniqueConstraint('statement_id', name=op.f('uq_dsa_complaints_statement_id')),
    )
    op.create_index('ix_dsa_complaints_status', 'dsa_complaints', ['status', 'created_at'])


def downgrade():
    op.drop_index('ix_dsa_complaints_status', table_name='dsa_complaints')
    op.drop_table('dsa_complaints')
    op.drop_index('ix_dsa_statements_restriction', table_name='dsa_statements')
    op.drop_index('ix_dsa_statements_comment', table_name='dsa_statements')
    op.drop_index('ix_dsa_statements_created', table_name='dsa_statements')
    op.drop_table('dsa_statements')
