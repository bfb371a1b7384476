"""结算 screen: find the person, enter the visit and its items, pre-settle (F5), settle (F9), print (F10).

Keyboard path: type or scan into the search box, Enter picks the first hit, the
item box gets focus; type a code/name/pinyin, Enter moves to the quantity, Enter
adds the line and returns to the item box; F5 shows the split with the reason
for every figure; F9 settles once per visit (one request token per visit).

The screen composes three parts: the person (gui/person_pane.py), the visit and its
items (gui/items_pane.py) and the split (gui/split_view.py); it holds the visit's
request token and runs pre-settle, settle and print.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from datetime import date
from decimal import Decimal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from desktop_app.gui.dialogs import confirm
from desktop_app.gui.items_pane import ItemsPane
from desktop_app.gui.person_pane import PersonPane
from desktop_app.gui.reason_dialog import ReasonDialog
from desktop_app.gui.split_view import SplitView
from desktop_app.services import ledger, ledger_types, selfpay, settling, visit_rules


class SettleTab(QWidget):
    settled = Signal(object)  # SettlementRecord

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx  # AppContext: db, ops, operator, settings, receipts_dir
        self.token = uuid.uuid4().hex
        self.preview_result: dict | None = None
        self._gen = 0  # the visit's state: bumped by every change, so a late pre-settlement is dropped
        self._busy = False  # F9 under way (pre-settle, confirmation, settle)
        self._print_when_settled = False  # F10 pressed while the settlement was being saved
        self.last_record = None  # the settlement of the visit on screen: the visit is locked
        self._moved: list[dict] = []  # lines moved out for a 普通门诊 visit of the same person (Ctrl+N enters them)
        self._build()
        self._connect()
        self.items_pane.load_catalogue()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.person_pane = PersonPane(self.ctx)
        root.addWidget(self.person_pane, 3)
        self.items_pane = ItemsPane(self.ctx, lambda: self.person_pane.person)
        self.split_view = SplitView()
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(self.items_pane)
        lower.addWidget(self.split_view)
        lower.setChildrenCollapsible(False)
        lower.setStretchFactor(0, 5)
        lower.setStretchFactor(1, 4)
        lower.setSizes([560, 440])
        root.addWidget(lower, 5)
        # the parts' widgets, reached from the screen (tests, screenshots, the bench)
        pp, ip, sv = self.person_pane, self.items_pane, self.split_view
        self.search, self.results, self.proxy, self.results_view = pp.search, pp.results, pp.proxy, pp.results_view
        self.person_label = pp.person_label
        self.item_entry, self.qty, self.entry_msg, self.add_btn = ip.item_entry, ip.qty, ip.entry_msg, ip.add_btn
        self.items, self.items_view, self.total_label = ip.items, ip.items_view, ip.total_label
        self.presettle_btn, self.settle_btn, self.print_btn = ip.presettle_btn, ip.settle_btn, ip.print_btn
        self.split, self.notices, self.result_label = sv.split, sv.notices, sv.result_label
        self.self_pay_bar = pp.self_pay_bar  # 全自费 / 自费患者 (gui/selfpay_pane.py)
        self.self_pay, self.walk_in_btn = pp.self_pay_bar.check, pp.self_pay_bar.walk_in_btn

    def _connect(self) -> None:
        pp, ip = self.person_pane, self.items_pane
        pp.loaded.connect(self._person_loaded)
        pp.chosen.connect(lambda: self.item_entry.setFocus())
        pp.failed.connect(self._show_error)
        pp.loaded.connect(lambda *_a: self.split_view.clear_warning())  # a red "pick a person first" is stale now
        ip.changed.connect(self.split_view.clear_warning)
        ip.search_requested.connect(self.focus_search)
        ip.failed.connect(self._show_error)
        ip.changed.connect(self._invalidate)
        self.self_pay_bar.changed.connect(self._pay_mode_changed)
        self.self_pay_bar.walk_in_chosen.connect(self._walk_in_chosen)
        # clicked(bool) would hand its `checked` to a slot with a parameter: every action goes through a lambda
        ip.presettle_btn.clicked.connect(lambda: self.presettle())
        ip.settle_btn.clicked.connect(lambda: self.settle())
        ip.print_btn.clicked.connect(lambda: self.print_last())
        ip.new_btn.clicked.connect(lambda: self.new_visit())
        self.split_view.move_requested.connect(self.move_to_ordinary)
        for seq, fn in ((QKeySequence(Qt.Key.Key_F2), self.focus_search), (QKeySequence(Qt.Key.Key_F5), self.presettle),
                        (QKeySequence(Qt.Key.Key_F9), self.settle), (QKeySequence(Qt.Key.Key_F10), self.print_last),
                        (QKeySequence("Ctrl+N"), self.new_visit)):
            sc = QShortcut(seq, self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda f=fn: f())
        dl = QShortcut(QKeySequence(Qt.Key.Key_Delete), ip.items_view)
        dl.setContext(Qt.ShortcutContext.WidgetShortcut)
        dl.activated.connect(lambda: ip.remove_item())
        order = (pp.search, pp.results_view, self.walk_in_btn, self.self_pay, ip.visit_date, ip.benefit, ip.disease, ip.delivery, ip.diagnosis,
                 ip.item_entry, ip.qty,
                 ip.add_btn, ip.items_view, ip.use_account, ip.presettle_btn, ip.settle_btn, ip.print_btn, ip.new_btn)
        for a, b in itertools.pairwise(order):
            self.setTabOrder(a, b)

    # ------------------------------------------------------------------ person
    @property
    def person(self):
        """The PersonSummary picked (None before a search)."""
        return self.person_pane.person

    @person.setter
    def person(self, value) -> None:
        self.person_pane.person = value

    def focus_search(self) -> None:
        if self._refuse_change():
            return
        self.person_pane.focus_search()

    def load_person(self, psn_no: str, *, new_visit: bool = True) -> None:
        self.person_pane.load_person(psn_no, new_visit=new_visit)

    def _person_loaded(self, _summary, new_visit: bool) -> None:
        if new_visit:
            self._moved = []  # lines moved out for the person before
            self._start_visit(keep_person=True)

    # ---------------------------------------------------------------- 全自费
    def _pay_mode_changed(self) -> None:
        """全自费 ticked or not, a walk-in registered: the split on screen was computed the other way."""
        self._invalidate()
        self.split_view.clear()
        self._account_box()

    def _account_box(self) -> None:
        """使用个人账户 means nothing for 全自费 (no account is used): greyed out while it is on."""
        self.items_pane.use_account.setEnabled(not self.locked and not self.self_pay_bar.on)

    def _walk_in_chosen(self, w) -> None:
        self.person_pane.show_walk_in(w)
        self.items_pane.reset(full=False)  # a new visit for the walk-in (the 全自费 state stays)
        self.item_entry.setFocus()

    def _payer_name(self) -> str:
        w = self.self_pay_bar.walk_in
        return w.name if w is not None else (self.person.name if self.person is not None else "")

    def _refused(self, exc) -> None:
        """A refusal in red; when the policy leaves a parameter open, with the way out (全自费)."""
        self.split_view.refused(exc)
        if getattr(exc, "code", "") == "policy_parameter_missing":
            self.split_view.warn(selfpay.offer_text(exc) + self.tr("勾选“全自费（不用医保）”（Alt+Z）后按 F9。"))

    # ------------------------------------------------------------------ visit
    @property
    def locked(self) -> bool:
        """The visit on screen is settled (or being settled): nothing of it can change until Ctrl+N."""
        return self.items_pane.locked

    def _invalidate(self) -> None:
        self._gen += 1  # a pre-settlement computed for the visit as it was is dropped when it arrives
        self.preview_result = None

    def _refuse_change(self) -> bool:
        if self.last_record is None:
            return False
        self._warn(self.tr("本次就诊已结算（结算单号 {0}），不能修改；按 Ctrl+N 开始新就诊").format(
            self.last_record.setl_no))
        return True

    def new_visit(self) -> None:
        """Ctrl+N: the next visit — no person, no hits, no cap bars, no lines, nothing typed, no split."""
        if self._busy:
            self._warn(self.tr("正在结算，请稍候"))
            return
        if self._moved and self.person is not None:
            self._start_ordinary_visit()
            return
        self._start_visit(keep_person=False)

    def move_to_ordinary(self, codes: list[str]) -> None:
        """移到普通门诊: the lines the engine puts under the ordinary benefit leave this visit and become a 普通门诊
        visit of the same person (entered by Ctrl+N, after this one is settled); when they are all the
        visit's lines, the visit itself becomes 普通门诊."""
        if self._refuse_change() or self._busy:
            return
        rows = [r for r, ln in enumerate(self.items.lines) if ln["code"] in codes]
        if not rows:
            return
        ip = self.items_pane
        if len(rows) == len(self.items.lines):
            ip.benefit.setCurrentIndex(ip.benefit.findData("general_outpatient"))
            self.split_view.say(self.tr("本次就诊的项目都属于普通门诊：已改为普通门诊，请按 F5 重新预结算"))
            return
        self._moved += [dict(self.items.lines[r]) for r in rows]
        for r in reversed(rows):
            self.items.remove(r)
        self.split_view.say(self.tr("已将 {0} 移出本次就诊：本次结算后按 Ctrl+N，它们作为 {1} 的一笔普通门诊就诊录入；"
                                    "请按 F5 重新预结算").format("、".join(codes), self.person.name))

    def _start_ordinary_visit(self) -> None:
        moved, self._moved = self._moved, []
        self._start_visit(keep_person=True)
        ip = self.items_pane
        ip.benefit.setCurrentIndex(ip.benefit.findData("general_outpatient"))
        for ln in moved:
            self.items.add_line(ln)
        self.split_view.say(self.tr("普通门诊就诊：已录入移出的 {0} 项，请核对后按 F5 预结算").format(len(moved)))

    def _start_visit(self, *, keep_person: bool) -> None:
        self.token = uuid.uuid4().hex  # one request token per visit: F9 twice settles once
        self.preview_result = None
        self.last_record = None
        self.split_view.clear()
        self.items_pane.diagnosis.clear()
        if not keep_person:
            self.person_pane.clear()
        self.self_pay_bar.reset()  # every visit starts insured (a walk-in is registered again)
        self.person_pane.set_locked(False)
        self.items_pane.reset(full=not keep_person)
        self._gen += 1
        self._update_buttons()

    def _lock(self, locked: bool) -> None:
        self.items_pane.set_locked(locked)
        self.person_pane.set_locked(locked)
        self._account_box()
        self._update_buttons()

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        free = not self._busy and not self.locked
        self.presettle_btn.setEnabled(free)
        self.settle_btn.setEnabled(free)

    def visit_input(self) -> ledger_types.VisitInput | selfpay.SelfPayInput | None:
        bar = self.self_pay_bar
        if self.person is None and bar.walk_in is None:
            self._warn(self.tr("请先查找并选择参保人（F2），不在花名册的人按“自费患者”（Alt+J）登记"))
            return None
        if not self.items.lines:
            self._warn(self.tr("请至少录入一条费用项目"))
            return None
        err = self.items.first_error()
        if err:
            self._warn(err)
            return None
        psn_no = self.person.psn_no if self.person is not None else None
        base = self.items_pane.visit(psn_no or "")
        return bar.visit(base, psn_no) if bar.on else base

    @staticmethod
    def _presettle_fn(v):
        return selfpay.presettle if isinstance(v, selfpay.SelfPayInput) else ledger.presettle

    # ------------------------------------------------------------- pre-settle
    def presettle(self) -> None:
        if self._refuse_change() or self._busy:
            return
        v = self.visit_input()
        if v is None:
            return
        gen = self._gen

        def done(pv):
            if gen != self._gen:
                return  # the visit changed meanwhile: this split is not the one on screen
            self._show_preview(pv)
            self.split_view.say("")

        self.ctx.ops.query(self._presettle_fn(v), self.ctx.db, v, operator=self.ctx.operator.login, done=done,
                           failed=self._refused)

    def _show_preview(self, pv) -> None:
        """A pre-settlement on screen: the split, and the 限定支付范围 of the lines (适应症 check boxes)."""
        self.items.set_limits(pv.limits)
        self.preview_result = pv.result
        self.split_view.show_split(pv.result)
        self.split_view.show_limits(pv.limits, [ln["code"] for ln in self.items.unconfirmed()])

    # ------------------------------------------------------------------ settle
    def settle(self) -> None:
        """F9: pre-settle the visit as it is, show what will be paid and collected, and settle once confirmed.
        A settled visit is never settled again (nor changed): Ctrl+N starts the next one."""
        if self.last_record is not None:
            self._warn(self.tr("已结算，不会重复结算（结算单号 {0}）。按 Ctrl+N 开始新就诊。").format(
                self.last_record.setl_no))
            return
        if self._busy:
            return  # a second F9 while the first is under way settles nothing more
        v = self.visit_input()
        if v is None:
            return
        try:  # the ledger's own date rule, asked before the confirmation
            visit_rules.check_visit_date(v.date, today=date.today(), role=self.ctx.operator.role)
            need_reason = False
        except ledger_types.LedgerError as exc:
            if exc.field != "reason":
                self.split_view.refused(exc)
                return
            need_reason = True  # a supervisor settling a visit of an earlier year
        self._set_busy(True)
        gen = self._gen

        def done(pv):
            if gen != self._gen:
                self._set_busy(False)
                self._warn(self.tr("就诊内容已改变，请再按 F9"))
                return
            self._show_preview(pv)
            self.split_view.say("")
            self._confirm_and_settle(v, pv.result, need_reason)

        def failed(exc):
            self._set_busy(False)
            self._refused(exc)
            if getattr(exc, "code", "") == "policy_parameter_missing" and gen == self._gen and \
                    not isinstance(v, selfpay.SelfPayInput):
                self._offer_self_pay(exc)

        self.ctx.ops.query(self._presettle_fn(v), self.ctx.db, v, operator=self.ctx.operator.login, done=done,
                           failed=failed)

    def _offer_self_pay(self, exc) -> None:
        """F9 on a benefit the policy leaves open: say which parameter and who must supply it, and offer
        全自费 — 是 ticks it and settles again (the confirmation then shows the cash); 否 leaves it insured."""
        text = selfpay.offer_text(exc) + "\n\n" + self.tr("是否为 {0} 按全自费结算本次就诊？").format(self._payer_name())
        if confirm(self, self.tr("无法按医保结算"), text, default_yes=False):
            self.self_pay_bar.choose("policy_open")
            QTimer.singleShot(0, self.settle)

    def _confirm_and_settle(self, v: ledger_types.VisitInput, result: dict, need_reason: bool) -> None:
        if not self._confirm(v, result):
            self._set_busy(False)
            return
        if need_reason:
            reason = ReasonDialog.ask(
                self, self.tr("往年就诊：填写原因"),
                self.tr("就诊日期 {0} 在往年：该年度的限额与花名册的本年累计不符。\n结算 {1} 的这次就诊须填写原因，"
                        "原因随结算保存并记入审计。").format(v.date, self._payer_name()),
                self.tr("原因（必填）："))
            if reason is None:
                self._set_busy(False)
                return
            v = dataclasses.replace(v, reason=reason)
        self._lock(True)  # settled means locked; unlocked again only if the ledger refuses
        st = self.ctx.settings
        self.ctx.ops.change(settling.settle_and_save_receipt, self.ctx.db, v, token=self.token,
                            operator=self.ctx.operator.login, receipts_dir=self.ctx.receipts_dir,
                            receipt_format=st.get("receipt_format"), font_path=st.get("font_path") or None,
                            done=self._settled, failed=self._settle_failed)

    def _confirm(self, v: ledger_types.VisitInput, r: dict) -> bool:
        """Yes (the default, Enter) or No: the total, what the fund pays and the cash to collect."""
        if isinstance(v, selfpay.SelfPayInput):
            return self._confirm_self_pay(v, r)
        lines = [self.tr("为 {0} 结算本次就诊？").format(self.person.name), "",
                 self.tr("医疗费总额　{0} 元").format(r["medfee_sumamt"]),
                 self.tr("统筹支付　　{0} 元").format(r["hifp_pay"])]
        big = Decimal(r["hifmi_pay"]) + Decimal(r["hifob_pay"])
        if big:
            lines.append(self.tr("大病/大额　 {0} 元").format(big))
        acct = Decimal(r["acct_pay"]) + Decimal(r["acct_mulaid_pay"])
        if acct:
            lines.append(self.tr("个人账户　　{0} 元").format(acct))
        lines.append(self.tr("个人现金　　{0} 元（应收现金）").format(r["psn_cash_pay"]))
        for ln in self.items.unconfirmed():
            lines.append(self.tr("未确认适应症：{0} {1}（限定支付范围，基金不支付该项；选“否”返回勾选）").format(
                ln["code"], ln["name"]))
        today = date.today()
        if v.date != today:
            lines.append(self.tr("就诊日期　{0}（不是今天{1}）").format(
                v.date, self.tr("；往年就诊，须填写原因") if v.date.year < today.year else ""))
        return confirm(self, self.tr("确认结算"), "\n".join(lines), default_yes=True)

    def _confirm_self_pay(self, v: selfpay.SelfPayInput, r: dict) -> bool:
        lines = [self.tr("为 {0} 按全自费结算本次就诊？").format(self._payer_name()), "",
                 self.tr("全自费（未使用医保）：{0}").format(selfpay.WHY[v.why]),
                 self.tr("医保基金和个人账户均不支付。"), "",
                 self.tr("医疗费总额　{0} 元").format(r["medfee_sumamt"]),
                 self.tr("个人现金　　{0} 元（应收现金）").format(r["psn_cash_pay"])]
        today = date.today()
        if v.date != today:
            lines.append(self.tr("就诊日期　{0}（不是今天）").format(v.date))
        return confirm(self, self.tr("确认全自费结算"), "\n".join(lines), default_yes=True)

    def _settled(self, out: settling.Settled) -> None:
        rec = out.record
        self.last_record = rec
        self._set_busy(False)
        self.split_view.show_split(rec.result)
        self.split_view.offer_move([])  # a settled visit does not change
        self.split_view.set_settled(rec.setl_no)
        # the file name only: a full path has no place to wrap and would widen the window past a small screen
        if rec.benefit == "self_pay":
            self.split_view.say(self.tr("已结算（全自费，未使用医保）：结算单号 {0}　个人现金 {1} 元　结算单 {2}").format(
                rec.setl_no, rec.result["psn_cash_pay"], out.receipt.name))
        else:
            self.split_view.say(self.tr("已结算：结算单号 {0}　统筹支付 {1} 元　个人现金 {2} 元　结算单 {3}").format(
                rec.setl_no, rec.result["hifp_pay"], rec.result["psn_cash_pay"], out.receipt.name))
        self.result_label.setToolTip(str(out.receipt))
        self.print_btn.setFocus()  # F10 / Space prints; Ctrl+N starts the next visit
        self.settled.emit(rec)
        if self.person is not None:
            self.load_person(self.person.psn_no, new_visit=False)  # caps refreshed, result kept on screen
        if self._print_when_settled:
            self._print_when_settled = False
            QTimer.singleShot(0, self.print_last)

    def _settle_failed(self, exc) -> None:
        self._print_when_settled = False
        self._lock(False)
        self._set_busy(False)
        self._refused(exc)

    def print_last(self) -> None:
        if self.last_record is None and self._busy and self.locked:
            # F10 right after the confirmation: the settlement is being saved; preview it as soon as it is
            self._print_when_settled = True
            self._warn(self.tr("正在结算，完成后打开结算单预览"))
            return
        if self.last_record is None:
            self._warn(self.tr("还没有可打印的结算单"))
            return
        from desktop_app.reports.qtprint import show_preview
        from desktop_app.reports.receipt import ReceiptData, receipt_pages

        show_preview(receipt_pages(ReceiptData.from_record(self.last_record), self.ctx.settings.get("receipt_format")),
                     self, self.ctx.settings.get("printer"))

    # ----------------------------------------------------------------- errors
    def _warn(self, text: str) -> None:
        self.split_view.warn(text)

    def _show_error(self, exc) -> None:
        self._warn(str(exc))
