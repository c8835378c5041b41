"""i14 dsa notices: notices of illegal content (Art. 16 DSA), their receipt and decision

Revision ID: c8d2f4a6b1e3
Revises: c4e8f2a6b9d1
Create Date: 2026-12-07 06:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8d2f4a6b1e3'
down_revision = 'c4e8f2a6b9d1'
branch_labels = None
depends_on = None

CATEGORIES = (
    "'STATEMENT_CATEGORY_ANIMAL_WELFARE', 'STATEMENT_CATEGORY_CONSUMER_INFORMATION', "
    "'STATEMENT_CATEGORY_CYBER_VIOLENCE', 'STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN', "
    "'STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS', "
    "'STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH', "
    "'STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS', "
    "'STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS', "
    "'STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE', 'STATEMENT_CATEGORY_OTHER_VIOLATION_TC', "
    "'STATEMENT_CATEGORY_PROTECTION_OF_MINORS', 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', "
    "'STATEMENT_CATEGORY_SCAMS_AND_FRAUD', 'STATEMENT_CATEGORY_SELF_HARM', "
    "'STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS', 'STATEMENT_CATEGORY_VIOLENCE'"
)


def upgrade():
    op.create_table(
        'dsa_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(length=20), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('location', sa.Text(), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=80), nullable=False),
        sa.Column('child_sexual_abuse', sa.Boolean(), nullable=False),
        sa.Column('notifier_name', sa.String(length=200), nullable=True),
        sa.Column('notifier_email', sa.String(length=254), nullable=True),
        sa.Column('good_faith', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('receipt_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision', sa.String(length=20), nullable=True),
        sa.Column('decision_ground', sa.Text(), nullable=True),
        sa.Column('decision_explanation', sa.Text(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=True),
        sa.Column('automated_processing', sa.Boolean(), nullable=False),
        sa.Column('automated_decision', sa.Boolean(), nullable=False),
        sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f('ck_dsa_notices_category')),
        sa.CheckConstraint(
            "decision IN ('removed_illegal', 'removed_terms', 'no_action')",
            name=op.f('ck_dsa_notices_decision'),
        ),
        sa.CheckConstraint("NOT automated_decision", name=op.f('ck_dsa_notices_human_decision')),
        sa.ForeignKeyConstraint(
            ['comment_id'], ['comments.id'],
            name=op.f('fk_dsa_notices_comment_id_comments'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'], ['users.id'],
            name=op.f('fk_dsa_notices_decided_by_id_users'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dsa_notices')),
        sa.UniqueConstraint('reference', name=op.f('uq_dsa_notices_reference')),
    )
    op.create_index('ix_dsa_notices_open', 'dsa_notices', ['decided_at', 'created_at'])
    op.create_index('ix_dsa_notices_comment', 'dsa_notices', ['comment_id'])


def downgrade():
    op.drop_index('ix_dsa_notices_comment', table_name='dsa_notices')
    op.drop_index('ix_dsa_notices_open', table_name='dsa_notices')
    op.drop_table('dsa_notices')
