"""person search: FTS5 trigram index on person.name (SQLite), pinyin key index on (key, psn_no), ID tails

The trigram index answers full-name and substring searches without scanning `person`; triggers keep it in
step with every insert, name update and delete (the roster re-import included). On another database (the
county centre's PostgreSQL) only the key index is made; name search there is the plain LIKE.
`ix_person_key_key` on (key) becomes `ix_person_key_key_psn` on (key, psn_no), so pinyin search
(`ORDER BY key, psn_no`) reads the index in order instead of sorting. `ix_person_id_tail4/5/6` on the last
4, 5 and 6 characters of the ID number let the "last digits of the ID number" search seek instead of scan.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_FTS = [
    "CREATE VIRTUAL TABLE person_fts USING fts5(name, content='person', content_rowid='rowid', "
    "tokenize='trigram', detail='none')",
    "CREATE TRIGGER person_fts_ai AFTER INSERT ON person BEGIN "
    "INSERT INTO person_fts(rowid, name) VALUES (new.rowid, new.name); END",
    "CREATE TRIGGER person_fts_ad AFTER DELETE ON person BEGIN "
    "INSERT INTO person_fts(person_fts, rowid, name) VALUES ('delete', old.rowid, old.name); END",
    "CREATE TRIGGER person_fts_au AFTER UPDATE OF name ON person BEGIN "
    "INSERT INTO person_fts(person_fts, rowid, name) VALUES ('delete', old.rowid, old.name); "
    "INSERT INTO person_fts(rowid, name) VALUES (new.rowid, new.name); END",
    "INSERT INTO person_fts(person_fts) VALUES ('rebuild')",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.drop_index("ix_person_key_key", table_name="person_key")
    op.create_index("ix_person_key_key_psn", "person_key", ["key", "psn_no"])
    for n in (4, 5, 6):
        op.create_index(f"ix_person_id_tail{n}", "person", [sa.text(f"substr(id_no, {19 - n})")])
    if _sqlite():
        for sql in _FTS:
            op.execute(sql)


def downgrade() -> None:
    if _sqlite():
        for name in ("person_fts_au", "person_fts_ad", "person_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS person_fts")
    for n in (4, 5, 6):
        op.drop_index(f"ix_person_id_tail{n}", table_name="person")
    op.drop_index("ix_person_key_key_psn", table_name="person_key")
    op.create_index("ix_person_key_key", "person_key", ["key"])
