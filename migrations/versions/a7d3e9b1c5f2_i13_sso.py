"""single sign-on: a site's SSO users mapped to reader accounts (site + CMS user id), and the
tokens already exchanged (their jti, until they expire)

Revision ID: a7d3e9b1c5f2
Revises: f1a2c3d4e5f6
Create Date: 2026-12-07 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3e9b1c5f2'
down_revision = 'f1a2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('external_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['site_id'], ['sites.id'],
            name=op.f('fk_sso_identities_site_id_sites'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_sso_identities_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identities')),
        sa.UniqueConstraint('site_id', 'external_id', name='one_reader_per_sso_user'),
        sa.UniqueConstraint('user_id', name=op.f('uq_sso_identities_user_id')),
    )
    op.create_table(
        'sso_token_uses',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('jti_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['site_id'], ['sites.id'],
            name=op.f('fk_sso_token_uses_site_id_sites'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('site_id', 'jti_hash', name=op.f('pk_sso_token_uses')),
    )
    op.create_index('ix_sso_token_uses_expires', 'sso_token_uses', ['expires_at'])


def downgrade():
    op.drop_index('ix_sso_token_uses_expires', table_name='sso_token_uses')
    op.drop_table('sso_token_uses')
    op.drop_table('sso_identities')
