"""结算 screen, lower right: the split of a (pre-)settlement — every figure with the document and
clause it follows — its notices, and the line that says what happened (settled, or why not)."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from desktop_app.core.model import FIELD_STEPS, MONEY_LABELS

MIN_WIDTH = 380  # 项目 and 金额 in full and a readable 依据, also on a 1024-pixel screen
SPLIT_ROWS = tuple((f, MONEY_LABELS[f]) for f in (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "hifmi_pay", "hifob_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"))
# the engine's steps, and the ground of a 全自费 settlement (services/selfpay.py: not an engine step)
WHY_STEPS = {**FIELD_STEPS, "fulamt_ownpay_amt": (*FIELD_STEPS["fulamt_ownpay_amt"], "self_pay"),
             "psn_cash_pay": ("self_pay",)}
LIMIT_CHARS = 60  # of a 限定支付范围 shown above the split (the whole text: its tooltip and the 适应症 cell's)


def ordinary_lines(result: dict) -> list[str]:
    """Codes of the lines the engine says belong to the ordinary benefit (notice reason `ordinary_benefit`,
    e.g. an ART visit's line outside the 13 items: 晋医保发〔2024〕16号 二(三) 「其他费用按现行规定执行」)."""
    return list(dict.fromkeys(n["item"] for n in result.get("notices", [])
                              if n.get("reason") == "ordinary_benefit" and n.get("item")))


class SplitView(QGroupBox):
    move_requested = Signal(list)  # codes of lines to move to an ordinary (普通门诊) visit

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTitle(self.tr("预结算"))
        prl = QVBoxLayout(self)
        self.settled_label = QLabel("")  # 已结算 + the settlement number: the visit on screen is locked
        self.settled_label.setObjectName("settled")
        self.settled_label.setStyleSheet("color: #006100; font-weight: bold; font-size: 15px;")
        self.settled_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settled_label.setWordWrap(True)  # never wider than the pane (1024×768)
        self.settled_label.hide()
        prl.addWidget(self.settled_label)
        self.notices = QLabel("")
        self.notices.setObjectName("notices")
        self.notices.setStyleSheet("color: #c00000; font-weight: bold;")
        self.notices.setWordWrap(True)
        prl.addWidget(self.notices)
        self.limits = QLabel("")  # 限定支付范围 of the lines: confirm the indication in the 适应症 column
        self.limits.setObjectName("limits")
        self.limits.setStyleSheet("color: #7f6000;")
        self.limits.setWordWrap(True)
        self.limits.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.limits.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        prl.addWidget(self.limits)
        self.move_btn = QPushButton("")  # 移到普通门诊: shown when the engine says some lines belong there
        self.move_btn.setObjectName("move_ordinary")
        self.move_btn.hide()
        self.move_btn.clicked.connect(lambda: self.move_requested.emit(self._ordinary))
        self._ordinary: list[str] = []
        prl.addWidget(self.move_btn)
        self.split = QTableWidget(0, 3)
        self.split.setObjectName("split")
        self.split.setHorizontalHeaderLabels([self.tr("项目"), self.tr("金额（元）"), self.tr("依据")])
        self.split.verticalHeader().hide()
        self.split.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.split.setWordWrap(False)
        self.split.setTextElideMode(Qt.TextElideMode.ElideRight)  # only 依据 may be shortened; full text below
        self.split.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        hh = self.split.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        hh.setMinimumSectionSize(40)
        # compact rows: the whole split (11 rows) fits above a three-line result on a 768-pixel screen
        self.split.verticalHeader().setDefaultSectionSize(self.split.fontMetrics().height() + 8)
        prl.addWidget(self.split, 1)
        self.why = QLabel("")  # the whole 依据 of the row the clerk is on
        self.why.setObjectName("why")
        self.why.setWordWrap(True)
        self.why.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why.setStyleSheet("color: #404040;")
        prl.addWidget(self.why)
        self.split.currentCellChanged.connect(self._show_why)
        self.setMinimumWidth(MIN_WIDTH)
        self._warning = False
        self.result_label = QLabel("")
        self.result_label.setObjectName("result")
        self.result_label.setWordWrap(True)
        self.result_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.notices.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        prl.addWidget(self.result_label)

    def clear(self) -> None:
        self.split.setRowCount(0)
        self.notices.setText("")
        self.show_limits({}, [])
        self.offer_move([])
        self.why.setText("")
        self.result_label.setText("")
        self.set_settled("")
        self._warning = False

    def set_settled(self, setl_no: str) -> None:
        """Say that the split on screen is a settlement (locked), or no longer ("")."""
        self.setTitle(self.tr("结算结果") if setl_no else self.tr("预结算"))
        self.settled_label.setText(self.tr("已结算　结算单号 {0}").format(setl_no) if setl_no else "")
        self.settled_label.setVisible(bool(setl_no))

    def _show_why(self, row: int, _col: int, _prow: int, _pcol: int) -> None:
        it = self.split.item(row, 2) if row >= 0 else None
        label = self.split.item(row, 0) if row >= 0 else None
        self.why.setText(f"{label.text()}：{it.toolTip()}" if it is not None and it.toolTip() else "")

    def clear_warning(self) -> None:
        """The input a red message was about has changed: the message is stale (a green one stays)."""
        if self._warning:
            self.result_label.setText("")
            self._warning = False

    def show_split(self, r: dict) -> None:
        trace = r.get("trace", [])
        self.split.setRowCount(0)
        for field, label in SPLIT_ROWS:
            value = r[field]
            if field in ("hifmi_pay", "hifob_pay", "acct_mulaid_pay") and Decimal(value) == 0:
                continue
            row = self.split.rowCount()
            self.split.insertRow(row)
            name = label + (f"（{Decimal(r['pool_prop_selfpay']) * 100:.0f}%）" if field == "hifp_pay" else "")
            self.split.setItem(row, 0, QTableWidgetItem(name))
            it = QTableWidgetItem(value)
            it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if field in ("hifp_pay", "psn_cash_pay"):
                f = it.font()
                f.setBold(True)
                it.setFont(f)
            self.split.setItem(row, 1, it)
            why = [f"{t.get('label', t['step'])}：{t['basis']}" for t in trace if t["step"] in WHY_STEPS.get(field, ())]
            why_item = QTableWidgetItem("；".join(why))
            why_item.setToolTip("\n".join(why))
            self.split.setItem(row, 2, why_item)
        self.why.setText("")
        self.notices.setText("\n".join("⚠ " + n["message"] for n in r.get("notices", [])))
        self.offer_move(ordinary_lines(r))

    def show_limits(self, limits: dict[str, str], unconfirmed: list[str]) -> None:
        """The 限定支付范围 of the visit's lines, and which are not confirmed yet (the fund does not pay those)."""
        def short(text: str) -> str:  # the split keeps its rows on a 768-pixel screen; the whole text is the tooltip
            return text if len(text) <= LIMIT_CHARS else text[:LIMIT_CHARS] + "…"

        rows = [f"{'☐ 未确认' if code in unconfirmed else '☑ 已确认'}　{code}：{short(text)}"
                for code, text in limits.items()]
        if unconfirmed:
            rows.append(self.tr("请核实适应症后在明细的“适应症”列勾选（空格键或鼠标）；未确认的项目基金不予支付。"))
        self.limits.setText("\n".join(rows))
        self.limits.setToolTip("\n\n".join(f"{code}：{text}" for code, text in limits.items()))
        self.limits.setVisible(bool(rows))

    def offer_move(self, codes: list[str]) -> None:
        """Offer to move the lines the engine puts under the ordinary benefit to a 普通门诊 visit."""
        self._ordinary = list(codes)
        self.move_btn.setText(self.tr("移到普通门诊（&M）：{0}").format("、".join(codes)) if codes else "")
        self.move_btn.setVisible(bool(codes))

    def say(self, text: str) -> None:
        """What was done (green)."""
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #006100; font-weight: bold;")
        self._warning = False

    def warn(self, text: str) -> None:
        """Why not (red)."""
        self.result_label.setText(text)
        self.result_label.setStyleSheet("color: #c00000; font-weight: bold;")
        self._warning = True

    def refused(self, exc) -> None:
        """A (pre-)settlement refused: its message, and no split that could be taken for its result."""
        self.warn(getattr(exc, "message", None) or str(exc))
        self.split.setRowCount(0)
