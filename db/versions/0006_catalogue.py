"""the insurance catalogue (医保目录), dated prices and the mapping of the clinic's price list (目录对照)

The clinic item loses kind, class, payment standard and price: kind, class and payment standard come
from the catalogue row its 医保目录编码 maps to, the price from `clinic_item_price` (dated). Items of an
older database keep settling exactly as before: each becomes a catalogue row of its own (import
“升级迁移：原价格目录”, from 2000-01-01, the item's old class and payment standard) it is mapped to, and
its price a price row from 2000-01-01. The 收费类别 are brought onto the ten receipt groups
(一般诊疗费 → 诊查费, 中药饮片 → 中药饮片费). Settled visits are never touched.

Revision ID: 0006
Revises: 0005 (the lead re-chains after 0004_policy2)
Create Date: 2026-12-02
"""
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MIGRATED_FROM = date(2000, 1, 1)
CATEGORY_OF_KIND = {"drug": "101", "service": "201", "material": "301"}
FEE_CATEGORY_FIX = {"一般诊疗费": "诊查费", "中药饮片": "中药饮片费"}
FEE_CATEGORIES = ("西药费", "中成药费", "中药饮片费", "诊查费", "检查费", "化验费", "治疗费", "手术费", "卫生材料费",
                  "其他费")


def _create_tables() -> None:
    op.create_table(
        "ins_catalogue_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ins_catalogue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("ins_catalogue_import.id"), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("pinyin", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=3), nullable=False),
        sa.Column("chrgitm_lv", sa.String(length=2), nullable=False),
        sa.Column("pay_std", sa.String(length=32), nullable=True),
        sa.Column("limit_text", sa.Text(), nullable=False),
        sa.Column("admdvs", sa.String(length=6), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("superseded_from", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ins_catalogue_code", "ins_catalogue", ["code", "admdvs", "valid_from"])
    op.create_index("ix_ins_catalogue_pinyin", "ins_catalogue", ["pinyin"])
    op.create_table(
        "clinic_item_price",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), sa.ForeignKey("clinic_item.code"), nullable=False),
        sa.Column("price", sa.String(length=32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "valid_from", name="uq_clinic_item_price"),
    )


def _move_items(conn, items: list) -> None:
    """Each old item → its own catalogue row and a price row (settles exactly as before)."""
    if not items:
        return
    now = datetime.now()
    conn.execute(sa.text("INSERT INTO ins_catalogue_import (imported_at, actor, file_name, file_sha256, rows) "
                         "VALUES (:at, '', :name, '', :n)"),
                 {"at": now, "name": "升级迁移：原价格目录", "n": len(items)})
    imp = conn.execute(sa.text("SELECT max(id) FROM ins_catalogue_import")).scalar()
    for code, name, pinyin, kind, lv, pay_std, price, fee in items:
        conn.execute(sa.text(
            "INSERT INTO ins_catalogue (import_id, code, name, pinyin, category, chrgitm_lv, pay_std, limit_text, "
            "admdvs, valid_from) VALUES (:imp, :code, :name, :py, :cat, :lv, :ps, '', '', :vf)"),
            {"imp": imp, "code": code, "name": name, "py": pinyin, "cat": CATEGORY_OF_KIND.get(kind, "201"),
             "lv": lv, "ps": pay_std, "vf": MIGRATED_FROM})
        conn.execute(sa.text("INSERT INTO clinic_item_price (code, price, valid_from, created_at, actor) "
                             "VALUES (:code, :price, :vf, :at, '')"),
                     {"code": code, "price": price, "vf": MIGRATED_FROM, "at": now})
        fixed = FEE_CATEGORY_FIX.get(fee, fee if fee in FEE_CATEGORIES else "其他费")
        conn.execute(sa.text("UPDATE clinic_item SET ins_code = :code, fee_category = :fee WHERE code = :code"),
                     {"code": code, "fee": fixed})


def upgrade() -> None:
    conn = op.get_bind()
    items = conn.execute(sa.text("SELECT code, name, pinyin, kind, chrgitm_lv, pay_std, price, fee_category "
                                 "FROM clinic_item ORDER BY code")).all()
    # the table is rebuilt (SQLite batch) before anything references it
    with op.batch_alter_table("clinic_item") as batch_op:
        batch_op.add_column(sa.Column("spec", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("ins_code", sa.String(length=50), nullable=False, server_default=""))
        batch_op.create_index("ix_clinic_item_ins_code", ["ins_code"])
        for col in ("kind", "chrgitm_lv", "price", "pay_std"):
            batch_op.drop_column(col)
    _create_tables()
    _move_items(conn, items)


def downgrade() -> None:
    op.drop_table("clinic_item_price")
    with op.batch_alter_table("clinic_item") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="service"))
        batch_op.add_column(sa.Column("chrgitm_lv", sa.String(length=2), nullable=False, server_default="03"))
        batch_op.add_column(sa.Column("price", sa.String(length=32), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("pay_std", sa.String(length=32), nullable=True))
        batch_op.drop_index("ix_clinic_item_ins_code")
        batch_op.drop_column("ins_code")
        batch_op.drop_column("spec")
    op.drop_index("ix_ins_catalogue_pinyin", "ins_catalogue")
    op.drop_index("ix_ins_catalogue_code", "ins_catalogue")
    op.drop_table("ins_catalogue")
    op.drop_table("ins_catalogue_import")
