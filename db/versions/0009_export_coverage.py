"""county_export.covered_to: the last day an ingested export covers — a day closed (日结) at the clinic when the
export was made (manifest `day_close.covered_to`; an older manifest: the day before it was made). `county usage`
refuses a 截至日期 after the clinic's last covered day (docs/deployment.md).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("county_export") as b:
        b.add_column(sa.Column("covered_to", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("county_export") as b:
        b.drop_column("covered_to")
