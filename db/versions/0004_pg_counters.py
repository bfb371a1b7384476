"""setl_counter: the last settlement number of each clinic and day, so a number is taken without
scanning the settlements and two counters on one PostgreSQL server never take the same one

Revision ID: 0004_pg
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_pg"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "setl_counter",
        sa.Column("prefix", sa.String(length=48), nullable=False),  # "H14110200031-20261123-"
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix"),
    )
    # the numbers already given (a database made by an earlier version): each prefix's highest
    conn = op.get_bind()
    last: dict[str, int] = {}
    for (no,) in conn.execute(sa.text("SELECT setl_no FROM settlement")):
        prefix, _, seq = no.rpartition("-")
        if seq.isdigit():
            key = prefix + "-"
            last[key] = max(last.get(key, 0), int(seq))
    if last:
        counter = sa.table("setl_counter", sa.column("prefix", sa.String), sa.column("last", sa.Integer))
        op.bulk_insert(counter, [{"prefix": k, "last": v} for k, v in sorted(last.items())])


def downgrade() -> None:
    op.drop_table("setl_counter")
