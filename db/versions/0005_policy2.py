"""Policy fidelity round 2 (#14): person.contrib_year (花名册 缴费年度); clinic_item.fee_category nullable and
held to the ten receipt groups of the calc contract

- `person.contrib_year`: the year the person's (latest) contribution pays for (缴费年度); NULL when the
  roster did not say (rosters made before this revision).
- `clinic_item.fee_category`: nullable; a value outside the ten groups (西药费 … 其他费) of the contract's
  `items[].fee_category` is read as its group where one is plain (中药饮片 → 中药饮片费, 一般诊疗费 → 诊查费)
  and otherwise set to NULL (unknown group: a rule that pays only some groups does not pay it). Settled
  lines (`settlement_item.fee_category`) are never rewritten.
- The retired setting `clinic_designated_diseases` is left in the `setting` table (the audit trail's
  settings digest covers the rows as stored); nothing reads it any more (docs/ledger.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

GROUPS = ("西药费", "中成药费", "中药饮片费", "诊查费", "检查费", "化验费", "治疗费", "手术费", "卫生材料费", "其他费")
PLAIN = {"中药饮片": "中药饮片费", "一般诊疗费": "诊查费", "卫生材料": "卫生材料费", "其他费用": "其他费"}


def upgrade() -> None:
    with op.batch_alter_table("person") as batch_op:
        batch_op.add_column(sa.Column("contrib_year", sa.Integer(), nullable=True))
    with op.batch_alter_table("clinic_item") as batch_op:
        batch_op.alter_column("fee_category", existing_type=sa.String(length=16), nullable=True)
    items = sa.table("clinic_item", sa.column("fee_category", sa.String))
    for old, new in PLAIN.items():
        op.execute(items.update().where(items.c.fee_category == old).values(fee_category=new))
    op.execute(items.update().where(items.c.fee_category.not_in(GROUPS)).values(fee_category=None))


def downgrade() -> None:
    items = sa.table("clinic_item", sa.column("fee_category", sa.String))
    op.execute(items.update().where(items.c.fee_category.is_(None)).values(fee_category="其他费"))
    with op.batch_alter_table("clinic_item") as batch_op:
        batch_op.alter_column("fee_category", existing_type=sa.String(length=16), nullable=False)
    with op.batch_alter_table("person") as batch_op:
        batch_op.drop_column("contrib_year")
