"""Settle a visit and save its receipt: the window's F9 as one use case."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop_app.reports.receipt import save_receipt
from desktop_app.services import ledger, ledger_types, selfpay
from desktop_app.store.db import Database


@dataclass(frozen=True)
class Settled:
    record: ledger_types.SettlementRecord
    receipt: Path  # the receipt PDF, `<结算单号>.pdf` in the receipts folder (see receipt_path)


def settle_and_save_receipt(db: Database, visit: ledger_types.VisitInput | selfpay.SelfPayInput, *, token: str | None,
                            operator: str,
                            receipts_dir: Path, receipt_format: str = "A5", font_path: str | None = None) -> Settled:
    """Settle `visit` (once per `token`) and write its receipt PDF. Raises LedgerError (nothing saved) when
    the settlement is refused. A `SelfPayInput` is settled as 全自费 (services/selfpay.py)."""
    settle = selfpay.settle if isinstance(visit, selfpay.SelfPayInput) else ledger.settle
    rec = settle(db, visit, token=token, operator=operator)
    path = save_receipt(rec, receipt_path(db, rec, Path(receipts_dir)), receipt_format, font_path=font_path)
    return Settled(rec, path)


def receipt_path(db: Database, rec, folder: Path) -> Path:
    """`<结算单号>.pdf`; but a new settlement never replaces a receipt already there — two databases in one
    folder with the same 机构编码 number alike, so the file there is another database's: this one's goes to
    `<结算单号>_<数据库文件名>.pdf` (then `…_2.pdf`, …). A replay (same token) writes its own file again."""
    plain = folder / f"{rec.setl_no}.pdf"
    stem = Path(db.path).stem if getattr(db, "path", None) else "server"
    own = folder / f"{rec.setl_no}_{stem}.pdf"
    if getattr(rec, "replayed", False):
        return own if own.exists() else plain
    n = 1
    cand = plain
    while cand.exists():
        cand = own if n == 1 else folder / f"{rec.setl_no}_{stem}_{n}.pdf"
        n += 1
    return cand
