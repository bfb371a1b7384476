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
    receipt: Path  # the receipt PDF, `<结算单号>.pdf` in the receipts folder


def settle_and_save_receipt(db: Database, visit: ledger_types.VisitInput | selfpay.SelfPayInput, *, token: str | None,
                            operator: str,
                            receipts_dir: Path, receipt_format: str = "A5", font_path: str | None = None) -> Settled:
    """Settle `visit` (once per `token`) and write its receipt PDF. Raises LedgerError (nothing saved) when
    the settlement is refused. A `SelfPayInput` is settled as 全自费 (services/selfpay.py)."""
    settle = selfpay.settle if isinstance(visit, selfpay.SelfPayInput) else ledger.settle
    rec = settle(db, visit, token=token, operator=operator)
    path = save_receipt(rec, Path(receipts_dir) / f"{rec.setl_no}.pdf", receipt_format, font_path=font_path)
    return Settled(rec, path)
