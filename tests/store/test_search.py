"""Person search through the FTS5 trigram index (migration 0006): a database made by the schema before it,
with data, upgraded in place, answers every kind of search exactly as before; the index follows every
insert, rename and delete (roster re-import included); the same hits come from the plain LIKE path that
PostgreSQL uses."""

import csv
import random
import sqlite3
from datetime import date

import pytest

from desktop_app.services import demo, lookup, roster
from desktop_app.store import search as name_search
from desktop_app.store.db import SCHEMA_HEAD, Database, open_db

TODAY = date(2026, 11, 23)
COMPOUND = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫")
GIVEN = ("小明", "建国", "秀英", "明华", "国强", "小红", "阳光", "明")


def at_revision(path, rev) -> Database:
    """A database whose schema is exactly migration `rev` (what an earlier release made)."""
    from alembic import command

    d = Database(path)
    cfg = d._alembic_config()
    with d.write_engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, rev)
        conn.commit()
    return d


def long_names_roster(path, n=800, seed=7):
    """Roster rows with 4–6 character names (compound surnames, 维吾尔 names with ·), so that 3+ character
    substrings occur in the middle of names and many times."""
    rows, _usage = demo.roster_rows(n, seed=seed, today=TODAY)
    rng = random.Random(seed)
    for i, r in enumerate(rows[1:]):
        r[0] = f"{r[7]}9{i:07d}"
        if i % 10 == 0:
            r[2] = rng.choice(("买买提", "阿依")) + "·" + rng.choice(("艾力", "古丽", "阳光明"))
        else:
            given = "小明" if i % 2 else rng.choice(GIVEN)  # 阳小明 etc. more often than the limit
            r[2] = rng.choice(COMPOUND) + given + (rng.choice(GIVEN) if i % 3 == 0 else "")
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def names(d):
    con = sqlite3.connect(d.path)
    try:
        return [r[0] for r in con.execute("SELECT name FROM person ORDER BY rowid")]
    finally:
        con.close()


def id_tails(d, n=60):
    con = sqlite3.connect(d.path)
    try:
        ids = [r[0] for r in con.execute("SELECT id_no FROM person ORDER BY psn_no LIMIT ?", (n,))]
    finally:
        con.close()
    return {idn[-k:] for idn in ids for k in (4, 5, 6)} | {idn[-k:].lower() for idn in ids if idn.endswith("X")
                                                           for k in (4, 5)}


def other_kinds(d, n=20):
    """ID numbers, 人员编号 (whole and prefixes), scanned codes and pinyin of some persons."""
    from desktop_app.services.roster import pinyin_keys

    con = sqlite3.connect(d.path)
    try:
        people = con.execute("SELECT psn_no, id_no, name FROM person ORDER BY random() LIMIT ?", (n,)).fetchall()
    finally:
        con.close()
    qs = set()
    for psn, idn, name in people:
        qs |= {psn, psn[:8], psn[:10], idn, idn.lower(), f"CHSQR|v1|idno={idn}|ts=1", f"ECQR:{psn}:ab", *pinyin_keys(name)[:2]}
    return qs


def queries(all_names, seed=3):
    rng = random.Random(seed)
    qs = set(all_names)
    sample = [n for n in all_names if len(n) >= 4] + rng.sample(all_names, min(150, len(all_names)))
    for n in sample:
        for i in range(len(n)):
            for j in range(i + 1, min(len(n), i + 6) + 1):
                qs.add(n[i:j])
    qs |= {"%", "_", "阳_明", "%明%", "a%b", '"', '阳"小', "·", "提·艾", "·古丽", "明明明", "OUYANG", "oy"}
    return sorted(qs)


def results(d, qs, *, fts: bool, monkeypatch):
    monkeypatch.setattr(name_search, "uses_fts", lambda s: fts)
    try:
        return {q: [(h.psn_no, h.matched_by) for h in lookup.search(d, q)] for q in qs}
    finally:
        monkeypatch.undo()


@pytest.fixture
def old_db(tmp_path):
    """A database made with the schema of the revision before the index (0006), demo data plus long names."""
    d = at_revision(tmp_path / "old.sqlite3", "0006")
    demo.create_demo(d, persons=300, today=TODAY)
    res = roster.import_roster(d, long_names_roster(tmp_path / "long.csv"), actor="admin", today=TODAY)
    assert res.inserted == 800
    yield d
    d.dispose()


def fts_rows(path):
    con = sqlite3.connect(path)
    try:
        con.execute("INSERT INTO person_fts(person_fts, rank) VALUES ('integrity-check', 1)")  # vs person
        return con.execute("SELECT count(*) FROM person_fts").fetchone()[0]
    finally:
        con.close()


def test_upgrade_in_place_keeps_every_search_result(old_db, monkeypatch):
    qs = queries(names(old_db)) + sorted(id_tails(old_db) | other_kinds(old_db))
    with sqlite3.connect(old_db.path) as con:
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE name='person_fts'").fetchone()[0] == 0
    before = results(old_db, qs, fts=False, monkeypatch=monkeypatch)
    old_db.dispose()
    d = open_db(old_db.path)  # what the program does at start-up: upgrade in place
    try:
        assert d.schema_version() == SCHEMA_HEAD
        assert fts_rows(d.path) == len(names(d))
        after = results(d, qs, fts=True, monkeypatch=monkeypatch)
    finally:
        d.dispose()
    assert after == before
    through_index = [q for q, hits in after.items()
                     if len(q) >= name_search.TRIGRAM and any(how == "姓名包含" for _p, how in hits)]
    assert len(through_index) >= 20  # the index path was really used, not only exact names and prefixes
    assert any(len(hits) == lookup.LIMIT for q, hits in after.items() if q in through_index)


def test_index_follows_insert_rename_delete_and_reimport(old_db, tmp_path, monkeypatch):
    old_db.dispose()
    d = open_db(old_db.path)
    try:
        roster_file = long_names_roster(tmp_path / "again.csv")
        with roster_file.open(encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
        renamed = rows[1][0]
        rows[1][2] = "诸葛孔明亮"  # re-import renames a known person
        rows.append(list(rows[2]))
        rows[-1][0], rows[-1][2] = "141102" + "77777777", "上官婉儿明"  # and adds a new one
        rows[-1][1] = demo._id_number(random.Random(99), date(1990, 1, 2), False)
        rows[-1][3], rows[-1][4] = "女", "1990-01-02"
        with roster_file.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
        res = roster.import_roster(d, roster_file, actor="admin", today=TODAY)
        assert res.inserted == 1 and res.updated >= 1, res.errors[:3]
        assert [h.psn_no for h in lookup.search(d, "孔明亮")] == [renamed]
        assert [h.psn_no for h in lookup.search(d, "婉儿明")] == ["14110277777777"]
        con = sqlite3.connect(d.path)
        with con:
            con.execute("DELETE FROM person_key WHERE psn_no = ?", ("14110277777777",))
            con.execute("DELETE FROM person WHERE psn_no = ?", ("14110277777777",))
            con.execute("UPDATE person SET name = '皇甫德嵩高' WHERE psn_no = ?", (renamed,))
        con.close()
        assert lookup.search(d, "婉儿明") == [] and lookup.search(d, "孔明亮") == []
        assert [h.psn_no for h in lookup.search(d, "德嵩高")] == [renamed]
        assert fts_rows(d.path) == len(names(d))
        qs = queries(names(d), seed=5)
        assert results(d, qs, fts=True, monkeypatch=monkeypatch) == results(d, qs, fts=False,
                                                                              monkeypatch=monkeypatch)
    finally:
        d.dispose()


def test_id_tail_search_finds_what_the_suffix_match_found(old_db):
    """The last 4–6 characters of the ID number, now an index seek: the same persons as `id_no LIKE '%1234'`
    (ordered by name, 人员编号), checked against that query run on the file itself."""
    old_db.dispose()
    d = open_db(old_db.path)
    con = sqlite3.connect(d.path)
    try:
        for tail in sorted(id_tails(d)) + ["0000", "12345", "99999X"]:
            if not (4 <= len(tail) <= 6):
                continue
            want = [r[0] for r in con.execute("SELECT psn_no FROM person WHERE id_no LIKE ? "
                                              "ORDER BY name, psn_no LIMIT 50", ("%" + tail,))]
            got = [h.psn_no for h in lookup.search(d, tail) if h.matched_by.startswith("身份证后")]
            assert got == want, tail
    finally:
        con.close()
        d.dispose()


def test_fts_query_quotes_every_trigram():
    assert name_search.fts_query("欧阳小明") == '"欧阳小" AND "阳小明"'
    assert name_search.fts_query('阳"小明') == '"阳""小" AND """小明"'
    assert name_search.fts_query("明明明明") == '"明明明"'
