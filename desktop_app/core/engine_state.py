"""The state of one settlement in progress, and the refusal the engine raises (contract exit 3).

`engine.settle` drives the steps; `eligibility.py` (who may be paid where and when) and `lines.py`
(each claim line) work on the same `State`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from desktop_app.core.model import Claim, HistoryEntry, ItemResult, Notice, TraceStep
from desktop_app.core.policy import KEY_LABELS, OPEN, Chain, Param, PolicySet
from desktop_app.errors import Refused

Z = Decimal("0.00")


class PolicyError(Refused):
    """The claim cannot be settled under the loaded policy (contract exit 3)."""

    def __init__(self, code: str, message: str, **extra: str):
        super().__init__(message, code=code)
        self.extra = extra

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class State:
    """One settlement in progress: the claim, the policy lookup in its context, the figures so far."""

    __slots__ = ("_keys", "acct", "acct_blocked", "blabel", "blocked", "chain", "claim", "ctx", "day", "dedc", "fd_inscp",
                 "fd_items", "hifmi", "hifob", "hifp", "history", "items", "mulaid", "notices", "policy", "ratio",
                 "sum_amt", "sum_ful", "sum_in", "sum_over", "sum_pre", "trace", "used_counts")

    def __init__(self, claim: Claim, history: Sequence[HistoryEntry], chain: Chain, ctx: dict, blabel: str,
                 policy: PolicySet):
        self.claim = claim
        self.history = history
        self.chain = chain
        self._keys = chain.keys  # the parameter keys the chain has at all: most lookups of others stop here
        self.policy = policy
        self.ctx = ctx  # selectors of the claim, for `get`
        self.day = claim.date
        self.blabel = blabel
        self.notices: list[Notice] = []
        self.trace: list[TraceStep] = []
        self.items: list[ItemResult] = []
        self.blocked = False  # an eligibility step refused the fund
        self.acct_blocked = False  # the visit is outside the range where the personal account may pay
        # (count scope "person" | "year") → item code → quantity the fund already paid for
        self.used_counts: dict[str, dict[str, Decimal]] = {}
        self.sum_amt = self.sum_ful = self.sum_over = self.sum_pre = Z
        self.sum_in = Z  # 政策范围内 under the deductible, ratio and caps
        self.fd_inscp = Z  # 家庭医生签约服务费: paid outside the cap
        self.fd_items = False
        self.dedc = self.ratio = self.hifp = self.hifmi = self.hifob = self.acct = self.mulaid = Z

    def get(self, key: str, *, soft: bool = False) -> Param | None:
        """The parameter in force for this claim; an open one (另行制定) refuses the claim unless `soft`."""
        if key not in self._keys:
            return None
        p = self.chain.resolve(key, self.ctx, self.day)
        if p is not None and p.value is OPEN and not soft:
            note = f"（{p.note}）" if p.note else ""
            raise PolicyError(
                "policy_parameter_missing",
                f"{self.day} 的{self.blabel}：{KEY_LABELS[key]}由 {p.cite} 留待另行制定{note}，"
                f"已加载的政策包均未给出该数值，无法按医保结算：须由参保地县级医保部门的政策包补充该参数"
                f"（{KEY_LABELS[key]}），同步后即可结算。",
                parameter=key,
                basis=p.cite,
            )
        return p

    def refuse(self, code: str, message: str, step: TraceStep, reason: str = "") -> None:
        """An eligibility rule refuses the fund for the whole claim."""
        self.blocked = True
        self.notices.append(Notice(code, message, reason=reason))
        self.trace.append(step)
