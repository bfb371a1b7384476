"""#12.7: an anchor taken earlier (the chain head, printed on the 日结单 and in each export manifest) catches what
the chain alone cannot: a whole chain re-hashed by someone with the file, a cut-off tail, a forged key trust."""

import json
import re
import sqlite3
from datetime import datetime

import pytest

from desktop_app.services import audit
from desktop_app.services import packs as packs_service
from tests.integrity.helpers import kinds, raw, two_days


def rehash_from(db, first_id):
    """Re-hash every entry from `first_id` to the head, the way anyone who knows the algorithm can."""
    con = sqlite3.connect(db.path)
    prev = con.execute("SELECT hash FROM audit_entry WHERE id = ?", (first_id - 1,)).fetchone()
    prev = prev[0] if prev else audit.GENESIS
    cols = "id, at, actor, action, subject, detail, before_digest, after_digest"
    for row in con.execute(f"SELECT {cols} FROM audit_entry WHERE id >= ? ORDER BY id", (first_id,)).fetchall():
        id_, at, actor, action, subject, detail, before, after = row
        h = audit.entry_hash(id_, datetime.fromisoformat(at), actor, action, subject, detail, before, after, prev)
        con.execute("UPDATE audit_entry SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, id_))
        prev = h
    con.commit()
    con.close()


def append_forged(db, action, subject, detail):
    con = sqlite3.connect(db.path)
    last_id, prev = con.execute("SELECT id, hash FROM audit_entry ORDER BY id DESC LIMIT 1").fetchone()
    at = datetime(2026, 11, 24, 3, 0)
    d = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    h = audit.entry_hash(last_id + 1, at, "admin", action, subject, d, "", "", prev)
    con.execute("INSERT INTO audit_entry (id, at, actor, action, subject, detail, before_digest, after_digest, "
                "prev_hash, hash) VALUES (?, ?, 'admin', ?, ?, ?, '', '', ?, ?)",
                (last_id + 1, at.isoformat(sep=" "), action, subject, d, prev, h))
    con.commit()
    con.close()


def test_anchor_is_the_chain_head_in_a_short_form(db):
    two_days(db)
    a = audit.anchor(db)
    head = audit.recent(db, 1, actor="admin")[0]
    assert a.entry_id == head.id
    assert re.fullmatch(r"#\d+ [0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}", str(a))
    assert audit.Anchor.parse(str(a)) == audit.Anchor.parse(f"审计锚点：{a}（打印于日结单）")
    assert audit.verify(db, anchor=str(a), actor="admin").ok
    with pytest.raises(ValueError):
        audit.Anchor.parse("#12 3f9a")  # too short to mean anything


def test_a_rehashed_chain_is_caught_only_with_an_anchor(db):
    two_days(db)
    a = audit.anchor(db)
    first = audit.recent(db, 1000, actor="admin")[-1].id  # the very first entry
    raw(db, "UPDATE audit_entry SET actor = 'nobody' WHERE id = ?", first + 2)
    rehash_from(db, first + 2)
    assert audit.verify(db, actor="admin").ok  # the chain alone cannot tell (docs/security.md says so)
    r = audit.verify(db, anchor=a, actor="admin")
    assert kinds(r) == ["anchor_mismatch"] and f"#{a.entry_id}" in r.problems[0].message


def test_a_cut_off_tail_is_caught_with_an_anchor(db):
    two_days(db)
    a = audit.anchor(db)
    raw(db, "DELETE FROM audit_entry WHERE id >= ?", a.entry_id - 1)  # the day-2 settlement's entry and after
    raw(db, "DELETE FROM settlement_item WHERE settlement_id = (SELECT MAX(id) FROM settlement)")
    raw(db, "DELETE FROM settlement WHERE id = (SELECT MAX(id) FROM settlement)")
    assert "anchor_missing" in kinds(audit.verify(db, anchor=a, actor="admin"))


def test_a_forged_key_trust_after_the_anchor_is_reported(db):
    two_days(db)
    a = audit.anchor(db)
    append_forged(db, "key_trust", "0123456789abcdef", {"file": "evil.pem"})
    with db.read() as s:
        assert "0123456789abcdef" in packs_service._registered_keys(s)  # the forgery works on the program...
    assert audit.verify(db, actor="admin").ok  # ...and the chain alone holds
    r = audit.verify(db, anchor=a, actor="admin")
    assert r.ok  # nothing before the anchor changed, but:
    assert [n.kind for n in r.notices] == ["key_trusted_after_anchor"] and "0123456789abcdef" in r.notices[0].message


def test_work_after_the_anchor_keeps_it_valid(db):
    a = audit.anchor(db)
    two_days(db)
    r = audit.verify(db, anchor=str(a), actor="admin")
    assert r.ok and not r.notices


def test_cli_audit_anchor_and_verify_with_anchor(db, tmp_path):
    from tests.cli_run import cs

    two_days(db)
    p = str(db.path)
    code, out, _ = cs("audit", "anchor", "--db", p, user="admin")
    assert code == 0 and re.search(r"#\d+ [0-9a-f]{4}(-[0-9a-f]{4}){3}", out)
    text = re.search(r"#\d+ [0-9a-f-]+", out).group(0)
    code, out, _ = cs("audit", "anchor", "--db", p, "--json", user="admin")
    data = json.loads(out)
    assert code == 0 and len(data["hash"]) == 64 and data["anchor"].startswith(f"#{data['entry_id']} ")
    code, out, _ = cs("audit", "verify", "--anchor", text, "--db", p, user="admin")
    assert code == 0 and "审计链完整" in out and text in out
    saved = tmp_path / "anchor.txt"
    saved.write_text(f"日结单上的锚点：{text}\n", encoding="utf-8")
    code, out, _ = cs("audit", "verify", "--anchor", str(saved), "--db", p, "--json", user="admin")
    assert code == 0 and json.loads(out)["ok"] is True and json.loads(out)["anchor"] == text
    # the attacker re-hashes the chain, and appends a key trust for their own key
    raw(db, "UPDATE audit_entry SET actor = 'nobody' WHERE id = 3")
    rehash_from(db, 3)
    append_forged(db, "key_trust", "0123456789abcdef", {"file": "evil.pem"})
    code, out, _ = cs("audit", "verify", "--db", p, user="admin")
    assert code == 0  # without the anchor nothing shows
    assert "0123456789abcdef" not in out
    code, out, _ = cs("audit", "verify", "--anchor", str(saved), "--db", p, user="admin")
    assert code == 1 and "锚点" in out and "改写" in out and "0123456789abcdef" in out
    code, _, err = cs("audit", "verify", "--anchor", "#3 12", "--db", p, user="admin")
    assert code == 2 and "锚点" in err
