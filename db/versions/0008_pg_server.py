"""Several counters and the county centre (issue #17):
setl_counter — the last settlement number of each clinic and day, so a number is taken without
scanning the settlements and two counters on one PostgreSQL server never take the same one;
county_export, county_settlement — the clinics' reconciliation exports as the county centre ingested them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

import desktop_app.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _money(name: str) -> sa.Column:
    return sa.Column(name, desktop_app.store.types.Money(), nullable=False)


MONEY = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
         "hifp_pay", "hifmi_pay", "hifob_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "acct_mulaid_pay",
         "psn_cash_pay")


def _county() -> None:
    op.create_table(
        "county_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("fixmedins_name", sa.String(length=128), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("manifest_name", sa.String(length=128), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("audit_anchor", sa.String(length=128), nullable=False),
        sa.Column("ingested_at", sa.DateTime(), nullable=False),
        sa.Column("ingested_by", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("manifest_sha256"),
    )
    op.create_table(
        "county_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setl_no", sa.String(length=48), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("original_setl_no", sa.String(length=48), nullable=True),
        sa.Column("original_id", sa.Integer(), nullable=True),
        sa.Column("fixmedins_code", sa.String(length=32), nullable=False),
        sa.Column("psn_no", sa.String(length=32), nullable=False),
        sa.Column("psn_name", sa.String(length=64), nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=False),
        sa.Column("benefit", sa.String(length=32), nullable=False),
        sa.Column("disease", sa.String(length=32), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("operator", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("pool_prop_selfpay", sa.String(length=8), nullable=False),
        *[_money(f) for f in MONEY],
        sa.Column("line_sha256", sa.String(length=64), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["export_id"], ["county_export.id"]),
        sa.ForeignKeyConstraint(["original_id"], ["county_settlement.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("setl_no"),
    )
    op.create_index("ix_county_settlement_clinic_day", "county_settlement", ["fixmedins_code", "business_date"])
    op.create_index("ix_county_settlement_psn_visit", "county_settlement", ["psn_no", "visit_date"])
    op.create_index("ix_county_settlement_business_date", "county_settlement", ["business_date"])
    op.create_index("ix_county_settlement_original_setl_no", "county_settlement", ["original_setl_no"])


def upgrade() -> None:
    _county()
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
    op.drop_table("county_settlement")
    op.drop_table("county_export")
