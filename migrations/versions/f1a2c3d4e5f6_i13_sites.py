"""sites and stories: a newsroom's properties (origins, SSO secret, overrides); an article's
site, canonical URL and CMS id. Existing articles go to the default site, made here.

Revision ID: f1a2c3d4e5f6
Revises: e5f1a2b3c4d6
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a2c3d4e5f6'
down_revision = 'e5f1a2b3c4d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sites',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('origins', sa.JSON(), nullable=False),
        sa.Column('sso_secret', sa.Text(), nullable=True),
        sa.Column('overrides', sa.JSON(), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
        sa.UniqueConstraint('name', name=op.f('uq_sites_name')),
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('url_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_articles_site_id_sites'), 'sites', ['site_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_unique_constraint(
            'one_story_per_url', ['site_id', 'url_hash']
        )
        batch_op.create_unique_constraint(
            'one_story_per_cms_id', ['site_id', 'external_id']
        )
    op.execute(
        "INSERT INTO sites (name, origins, sso_secret, overrides, is_default, created_at) "
        "VALUES ('default', '[]', NULL, '{}', true, CURRENT_TIMESTAMP)"
    )
    op.execute(
        "UPDATE articles SET site_id = (SELECT id FROM sites WHERE is_default) "
        "WHERE site_id IS NULL"
    )


def downgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_constraint('one_story_per_cms_id', type_='unique')
        batch_op.drop_constraint('one_story_per_url', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_articles_site_id_sites'), type_='foreignkey')
        batch_op.drop_column('external_id')
        batch_op.drop_column('url_hash')
        batch_op.drop_column('url')
        batch_op.drop_column('site_id')
    op.drop_table('sites')
