"""全自费 (self-pay) settlements: a settlement may be for a walk-in not in the roster

settlement.psn_no becomes nullable (still a foreign key to person when given); a walk-in's name,
masked ID number and gender are kept beside it; a check says every settlement has one or the other.
Existing settlements are not rewritten (their new columns are empty).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHECK = "ck_settlement_person_or_walkin"


def upgrade() -> None:
    # SQLite rebuilds the table (batch): Database.upgrade runs migrations with foreign-key enforcement off
    # and checks every reference (PRAGMA foreign_key_check) before it commits
    with op.batch_alter_table("settlement") as batch_op:
        batch_op.add_column(sa.Column("walkin_name", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("walkin_id", sa.String(length=18), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("walkin_gender", sa.String(length=1), nullable=False, server_default=""))
        batch_op.alter_column("psn_no", existing_type=sa.String(length=32), nullable=True)
        batch_op.create_check_constraint(CHECK, "psn_no IS NOT NULL OR walkin_name <> ''")


def downgrade() -> None:
    # only possible while no walk-in settlement exists (psn_no NOT NULL again)
    with op.batch_alter_table("settlement") as batch_op:
        batch_op.drop_constraint(CHECK, type_="check")
        batch_op.alter_column("psn_no", existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column("walkin_gender")
        batch_op.drop_column("walkin_id")
        batch_op.drop_column("walkin_name")
