"""settlement.receipt_json: the receipt's frozen header data

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlement") as batch_op:
        batch_op.add_column(sa.Column("receipt_json", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("settlement") as batch_op:
        batch_op.drop_column("receipt_json")
