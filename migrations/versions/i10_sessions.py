"""sessions: users.session_version (raising it ends every session of the account)

Revision ID: 60a90cd9915a
Revises: 6c33a908be33
Create Date: 2026-12-01 20:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "60a90cd9915a"
down_revision = "6c33a908be33"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
