"""#19: the chain links each entry to the one before it through its own hash."""

import json
from datetime import datetime

from desktop_app.services import audit
from tests.integrity.helpers import raw, raw_one, two_days


def _rehash(db, entry_id, **changes):
    """What an attacker who knows the algorithm does: rewrite an entry and give it a valid hash of its own."""
    cols = ("at", "actor", "action", "subject", "detail", "before_digest", "after_digest", "prev_hash")
    row = dict(zip(cols, raw_one(db, f"SELECT {', '.join(cols)} FROM audit_entry WHERE id = ?", entry_id),
                   strict=True))
    row.update(changes)
    at = datetime.fromisoformat(row["at"])
    new = audit.entry_hash(entry_id, at, row["actor"], row["action"], row["subject"], row["detail"],
                           row["before_digest"], row["after_digest"], row["prev_hash"])
    sets = ", ".join(f"{k} = ?" for k in changes)
    raw(db, f"UPDATE audit_entry SET {sets}, hash = ? WHERE id = ?", *changes.values(), new, entry_id)
    return new


def test_rewriting_an_entry_and_fixing_the_next_prev_hash_is_caught(db):
    two_days(db)
    k = [e for e in audit.recent(db, actor="admin") if e.action == "settle"][-1].id  # an early settlement's entry
    detail = json.loads(raw_one(db, "SELECT detail FROM audit_entry WHERE id = ?", k)[0])
    detail["hifp_pay"] = "0.01"
    new_k = _rehash(db, k, detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
    raw(db, "UPDATE audit_entry SET prev_hash = ? WHERE id = ?", new_k, k + 1)  # k+1 now "points at" k
    r = audit.verify(db, actor="admin")
    # entry k is self-consistent and k+1 links to it, but k+1's own hash covered the old prev_hash
    assert not r.ok and r.problems[0].entry_id == k + 1 and r.problems[0].kind == "edited"
