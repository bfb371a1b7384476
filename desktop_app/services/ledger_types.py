"""What the ledger's modules share: its refusal (`LedgerError`), the visit as typed (`VisitInput`,
`ItemInput`), and the records it returns (`Preview`, `SettlementRecord`, `DayCloseRecord`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from desktop_app.errors import Refused


class LedgerError(Refused):
    """A refusal with a clear Chinese message (`field` names the input when there is one)."""


@dataclass
class ItemInput:
    code: str
    qty: str
    price: str | None = None
    name: str | None = None
    kind: str | None = None
    chrgitm_lv: str | None = None
    pay_std: str | None = None
    fee_category: str | None = None  # 收费类别 of a line outside the price list (a listed line takes the list's)
    indication_confirmed: bool = False  # the clerk confirmed the line's 限定支付范围 (适应症)


@dataclass
class VisitInput:
    psn_no: str
    date: date
    benefit: str
    items: list[ItemInput]
    disease: str | None = None
    delivery: str | None = None
    use_account: bool = True
    family_account: dict | None = None
    institution: dict | None = None  # always this clinic (settings); if given, it must be this clinic as stored
    reason: str = ""  # required for a visit of an earlier calendar year (supervisor only; stored and audited)
    diagnosis: str | None = None  # optional, printed on the receipt: ICD-10 code and name ("J06.900 急性上呼吸道感染")


@dataclass(frozen=True)
class Preview:
    """A pre-settlement: the engine result as contract JSON, and the claim it was computed on."""

    result: dict
    claim: dict
    # 限定支付范围 of the visit's lines whose pack item gives one: code → the limit text (the clerk confirms the
    # indication per line, `ItemInput.indication_confirmed`)
    limits: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SettlementRecord:
    setl_no: str
    kind: str
    psn_no: str
    person_name: str
    business_date: date
    visit_date: date
    benefit: str
    operator: str
    created_at: datetime
    original_setl_no: str | None
    reversed_by: str | None
    result: dict
    claim_json: str  # parsed on demand (`claim`): day lists do not need it
    reason: str = ""
    day_closed: bool = False
    replayed: bool = False  # True when a repeated request token returned the first record
    receipt: dict = field(default_factory=dict)  # frozen header data for the receipt
    items: list[dict] = field(default_factory=list)  # stored lines: code, name, class, fee category, qty, price…

    @property
    def claim(self) -> dict:
        """The claim as computed (contract form, history included)."""
        return json.loads(self.claim_json)


@dataclass(frozen=True)
class DayCloseRecord:
    business_date: date
    closed_at: datetime
    operator: str
    count: int
    totals: dict = field(default_factory=dict)
