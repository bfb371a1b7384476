"""政策包与花名册、设置: imports validated before anything changes, long work off the GUI thread;
the month report (月报) and the reconciliation export (对账导出) into a chosen folder."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.dialogs import choose_dir, choose_file
from desktop_app.services import packs as packs_service
from desktop_app.services import reporting
from desktop_app.services import roster as roster_service
from desktop_app.services import settings as settings_service


class _Progress(QObject):
    changed = Signal(int, int)


class AdminTab(QWidget):
    settings_saved = Signal(object)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.report_path: str | None = None
        lay = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(self._packs_box())
        left.addWidget(self._roster_box())
        lay.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(self._settings_box(ctx.settings))
        right.addWidget(self._reports_box())
        right.addStretch(1)
        lay.addLayout(right, 2)
        self._connect()
        self._show_packs()
        self._clerk = ctx.operator.role != "supervisor"
        if self._clerk:  # checking is allowed; changing needs a supervisor
            for w in (self.pack_sync_btn, self.roster_btn, self.save_btn):
                w.setToolTip(self.tr("需要管理员"))
            self.allow_unsigned.setEnabled(False)
            self.save_btn.setEnabled(False)
            self.roster_btn.setEnabled(False)

    def _packs_box(self) -> QGroupBox:
        pk = QGroupBox(self.tr("政策包"))
        pl = QVBoxLayout(pk)
        self.pack_info = QLabel("")
        self.pack_info.setObjectName("pack_info")
        self.pack_info.setWordWrap(True)
        pl.addWidget(self.pack_info)
        row = QHBoxLayout()
        self.pack_path = QLineEdit()
        self.pack_path.setObjectName("pack_path")
        self.pack_path.setPlaceholderText(self.tr("政策包文件夹或 .zip"))
        row.addWidget(self.pack_path, 1)
        self.pack_browse = QPushButton(self.tr("选择…"))
        row.addWidget(self.pack_browse)
        self.pack_check_btn = QPushButton(self.tr("校验"))
        self.pack_check_btn.setObjectName("pack_check")
        row.addWidget(self.pack_check_btn)
        self.pack_sync_btn = QPushButton(self.tr("导入"))
        self.pack_sync_btn.setObjectName("pack_sync")
        self.pack_sync_btn.setEnabled(False)
        row.addWidget(self.pack_sync_btn)
        pl.addLayout(row)
        self.allow_unsigned = QCheckBox(self.tr("允许未签名的测试包（管理员，记入审计）"))
        self.allow_unsigned.setObjectName("allow_unsigned")
        pl.addWidget(self.allow_unsigned)
        self.pack_result = QPlainTextEdit()
        self.pack_result.setObjectName("pack_result")
        self.pack_result.setReadOnly(True)
        pl.addWidget(self.pack_result)
        return pk

    def _roster_box(self) -> QGroupBox:
        rg = QGroupBox(self.tr("花名册"))
        rl = QVBoxLayout(rg)
        row = QHBoxLayout()
        self.roster_path = QLineEdit()
        self.roster_path.setObjectName("roster_path")
        self.roster_path.setPlaceholderText(self.tr("花名册 .xlsx 或 .csv（格式见 docs/roster.md）"))
        row.addWidget(self.roster_path, 1)
        self.roster_browse = QPushButton(self.tr("选择…"))
        row.addWidget(self.roster_browse)
        self.roster_check_btn = QPushButton(self.tr("校验"))
        self.roster_check_btn.setObjectName("roster_check")
        row.addWidget(self.roster_check_btn)
        self.roster_btn = QPushButton(self.tr("导入"))
        self.roster_btn.setObjectName("roster_import")
        row.addWidget(self.roster_btn)
        rl.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setObjectName("roster_progress")
        self.progress.setValue(0)
        rl.addWidget(self.progress)
        self.roster_result = QLabel("")
        self.roster_result.setObjectName("roster_result")
        self.roster_result.setWordWrap(True)
        rl.addWidget(self.roster_result)
        self.open_report_btn = QPushButton(self.tr("打开错误报告"))
        self.open_report_btn.setEnabled(False)
        rl.addWidget(self.open_report_btn)
        return rg

    def _settings_box(self, st) -> QGroupBox:
        sg = QGroupBox(self.tr("设置"))
        sl = QFormLayout(sg)
        self.fields: dict[str, QWidget] = {}
        for key, n in (("clinic_name", 60), ("clinic_code", 20), ("clinic_admdvs", 6)):
            w = QLineEdit(st.get(key))
            w.setObjectName(key)
            w.setMaxLength(n)
            self.fields[key] = w
            sl.addRow(settings_service.LABELS[key], w)
        level = QComboBox()
        for code, label in (("primary", "基层"), ("county", "县级(含一级)"), ("city", "市级及以上")):
            level.addItem(label, code)
        level.setCurrentIndex(max(0, level.findData(st.get("clinic_level"))))
        self.fields["clinic_level"] = level
        sl.addRow(settings_service.LABELS["clinic_level"], level)
        pc = QComboBox()
        for n, label in ((1, "一类"), (2, "二类"), (3, "三类")):
            pc.addItem(label, str(n))
        pc.setCurrentIndex(max(0, pc.findData(st.get("clinic_price_class"))))
        self.fields["clinic_price_class"] = pc
        sl.addRow(settings_service.LABELS["clinic_price_class"], pc)
        fmt = QComboBox()
        fmt.addItem("A5 纸", "A5")
        fmt.addItem("80 mm 热敏小票", "80mm")
        fmt.setCurrentIndex(max(0, fmt.findData(st.get("receipt_format"))))
        self.fields["receipt_format"] = fmt
        sl.addRow(settings_service.LABELS["receipt_format"], fmt)
        for key, n in (("printer", 120), ("font_path", 260), ("max_qty", 12), ("max_line_amount", 14)):
            w = QLineEdit(st.get(key))
            w.setObjectName(key)
            w.setMaxLength(n)
            self.fields[key] = w
            sl.addRow(settings_service.LABELS[key], w)
        self.save_btn = QPushButton(self.tr("保存设置"))
        self.save_btn.setObjectName("save_settings")
        sl.addRow("", self.save_btn)
        self.server_btn = QPushButton(self.tr("数据库服务器…"))  # several counters on one PostgreSQL
        sl.addRow(self.tr("数据库"), self.server_btn)
        self.settings_msg = QLabel("")
        sl.addRow("", self.settings_msg)
        return sg

    def _reports_box(self) -> QGroupBox:
        """月报 and 对账导出 (the same files as `clinic-settle report month` / `clinic-settle export`)."""
        rg = QGroupBox(self.tr("月报与对账导出"))
        fl = QFormLayout(rg)
        today = QDate.currentDate()
        self.month = QDateEdit(today)
        self.month.setDisplayFormat("yyyy-MM")
        self.month.setObjectName("report_month")
        fl.addRow(self.tr("月份"), self.month)
        self.export_from = QDateEdit(QDate(today.year(), today.month(), 1))
        self.export_to = QDateEdit(today)
        for w in (self.export_from, self.export_to):
            w.setDisplayFormat("yyyy-MM-dd")
            w.setCalendarPopup(True)
        span = QHBoxLayout()
        span.addWidget(self.export_from)
        span.addWidget(QLabel(self.tr("至")))
        span.addWidget(self.export_to)
        fl.addRow(self.tr("对账日期"), span)
        row = QHBoxLayout()
        self.report_folder = QLineEdit(str(self.ctx.reports_dir))
        self.report_folder.setObjectName("report_folder")
        row.addWidget(self.report_folder, 1)
        self.report_browse = QPushButton(self.tr("选择…"))
        row.addWidget(self.report_browse)
        fl.addRow(self.tr("保存到"), row)
        buttons = QHBoxLayout()
        self.month_btn = QPushButton(self.tr("生成月报"))
        self.month_btn.setObjectName("month_report")
        self.export_btn = QPushButton(self.tr("对账导出"))
        self.export_btn.setObjectName("export")
        buttons.addWidget(self.month_btn)
        buttons.addWidget(self.export_btn)
        buttons.addStretch(1)
        fl.addRow("", buttons)
        self.report_msg = QLabel("")
        self.report_msg.setObjectName("report_msg")
        self.report_msg.setWordWrap(True)
        self.report_msg.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        fl.addRow("", self.report_msg)
        return rg

    def _connect(self) -> None:
        self.report_browse.clicked.connect(self._browse_reports)
        self.month_btn.clicked.connect(self.month_report)
        self.export_btn.clicked.connect(self.export)
        self.pack_browse.clicked.connect(self._browse_pack)
        self.pack_check_btn.clicked.connect(self.check_pack)
        self.pack_sync_btn.clicked.connect(self.sync_pack)
        self.roster_browse.clicked.connect(self._browse_roster)
        self.roster_btn.clicked.connect(lambda: self.import_roster())
        self.roster_check_btn.clicked.connect(lambda: self.import_roster(dry_run=True))
        self.open_report_btn.clicked.connect(self._open_report)
        self.save_btn.clicked.connect(self.save_settings)
        self.server_btn.clicked.connect(self.server_settings)
        self.pack_path.textChanged.connect(lambda _t: self.pack_sync_btn.setEnabled(False))
        self.allow_unsigned.toggled.connect(lambda _c: self.pack_sync_btn.setEnabled(False))

    def server_settings(self) -> None:
        """数据库服务器…: the database the window opens at its next start (saved in this user's settings)."""
        from desktop_app.gui.server_dialog import ServerDialog, saved_url

        dlg = ServerDialog(saved_url(), self, ops=self.ctx.ops)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.settings_msg.setText(self.tr("数据库设置已保存，下次启动时生效。"))

    # ------------------------------------------------------------------ packs
    def _show_packs(self) -> None:
        def done(infos):
            self.pack_info.setText(self.tr("已装入的政策包：") + "；".join(f"{p.name} {p.version}" for p in infos))

        self.ctx.ops.query(packs_service.installed, self.ctx.db, done=done)

    def _browse_pack(self) -> None:
        path = choose_dir(self, self.tr("选择政策包文件夹"), self.pack_path.text())
        if path:
            self.pack_path.setText(path)

    def check_pack(self) -> None:
        path = self.pack_path.text().strip()
        if not path:
            self.pack_result.setPlainText(self.tr("请先选择政策包"))
            return

        def done(results):
            self.pack_result.setPlainText(self.tr("校验通过，尚未导入。导入后：\n") + "\n".join(
                f"  {r.pack_id}（{r.name}）{r.version}：{packs_service.SYNC_STATUS_LABELS[r.status]}" for r in results))
            self.pack_sync_btn.setEnabled(any(r.status != "unchanged" for r in results) and not self._clerk)

        self.ctx.ops.query(packs_service.sync, self.ctx.db, path, dry_run=True, actor=self.ctx.operator.login,
                           allow_unsigned=self.allow_unsigned.isChecked(), done=done, failed=self._pack_error)

    def sync_pack(self) -> None:
        path = self.pack_path.text().strip()

        def done(results):
            self.pack_result.setPlainText(self.tr("已导入：\n") + "\n".join(
                f"  {r.pack_id}（{r.name}）{r.version}：{packs_service.SYNC_STATUS_LABELS[r.status]}" for r in results))
            self._pack_sync_off()
            self._show_packs()

        self.ctx.ops.change(packs_service.sync, self.ctx.db, path, actor=self.ctx.operator.login,
                            allow_unsigned=self.allow_unsigned.isChecked(), done=done, failed=self._pack_error)

    def _pack_sync_off(self) -> None:
        """导入 disabled (done, or refused): the focus on it goes to 校验, not on to a settings field."""
        had = self.pack_sync_btn.hasFocus()
        self._hold_focus(self.pack_sync_btn)
        self.pack_sync_btn.setEnabled(False)
        if had:
            self._give_focus_back(self.pack_sync_btn, self.pack_check_btn)

    def _pack_error(self, exc) -> None:
        self._pack_sync_off()
        problems = getattr(exc, "problems", [])
        self.pack_result.setPlainText((getattr(exc, "message", None) or str(exc)) + "\n" + "\n".join(problems))

    # ----------------------------------------------------------------- roster
    def _browse_roster(self) -> None:
        path = choose_file(self, self.tr("选择花名册"), self.tr("花名册 (*.xlsx *.csv)"))
        if path:
            self.roster_path.setText(path)

    def import_roster(self, dry_run: bool = False) -> None:
        path = self.roster_path.text().strip()
        if not path:
            self.roster_result.setText(self.tr("请先选择花名册文件"))
            return
        prog = _Progress(self)
        prog.changed.connect(lambda i, n: (self.progress.setRange(0, max(n, 1)), self.progress.setValue(i)),
                             Qt.ConnectionType.QueuedConnection)
        clicked = self.roster_check_btn if dry_run else self.roster_btn
        self._hold_focus(clicked)
        self.roster_btn.setEnabled(False)
        self.roster_check_btn.setEnabled(False)
        self.progress.setRange(0, 0)

        def done(res):
            self.roster_btn.setEnabled(not self._clerk)
            self.progress.setRange(0, 1)
            self.progress.setValue(1)
            head = self.tr("校验结果（未导入）：") if dry_run else self.tr("已导入：")
            text = head + self.tr("共 {0} 行：新增 {1} 人，更新 {2} 人，拒绝 {3} 行").format(
                res.rows, res.inserted, res.updated, res.rejected)
            if res.usage_rows:
                text += self.tr("；待遇累计 {0} 行，拒绝 {1} 行").format(res.usage_rows, res.usage_rejected)
            for note in (res.usage_note, res.encoding_note):
                if note:
                    text += "。" + note
            if res.report_path:
                text += self.tr("。错误报告：{0}").format(res.report_path)
            if res.report_note:
                text += "。" + res.report_note + "".join(
                    self.tr("\n{0} 第 {1} 行 {2}：{3}").format(e.sheet, e.row, e.field, e.reason) for e in res.errors[:5])
            self.roster_check_btn.setEnabled(True)
            self.report_path = res.report_path
            self.open_report_btn.setEnabled(bool(res.report_path))
            self.roster_result.setText(text)
            self._give_focus_back(clicked, self.roster_check_btn)

        def failed(exc):
            self.roster_btn.setEnabled(not self._clerk)
            self.roster_check_btn.setEnabled(True)
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.roster_result.setText(str(exc))
            self._give_focus_back(clicked, self.roster_check_btn)

        self.ctx.ops.change(roster_service.import_roster, self.ctx.db, path, dry_run=dry_run,
                            actor=self.ctx.operator.login,
                            progress=lambda i, n: prog.changed.emit(i, n), done=done, failed=failed)

    def _hold_focus(self, clicked) -> None:
        """A button about to be disabled while its operation runs: Qt would pass the focus on along the tab
        chain — to 机构名称, its text selected, so the next key press replaced the clinic's name. The tab
        itself holds the focus meanwhile (keys do nothing there)."""
        if clicked.hasFocus():
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    def _give_focus_back(self, clicked, fallback) -> None:
        """When the operation is over: the focus back on the button clicked (or `fallback` if it stays
        disabled) — only if the clerk has not gone elsewhere meanwhile."""
        if self.window().focusWidget() not in (None, self, clicked, fallback):
            return
        (clicked if clicked.isEnabled() else fallback).setFocus(Qt.FocusReason.OtherFocusReason)

    def _open_report(self) -> None:
        if self.report_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.report_path))

    # --------------------------------------------------------------- settings
    def save_settings(self) -> None:
        values = {}
        for key, w in self.fields.items():
            values[key] = w.currentData() if isinstance(w, QComboBox) else w.text().strip()
        bad = settings_service.problems(values)
        if bad:
            self.settings_msg.setText("；".join(msg for _f, msg in bad))
            self.settings_msg.setStyleSheet("color: #c00000;")
            self.fields[bad[0][0]].setFocus()
            return
        self.settings_msg.setStyleSheet("")

        try:  # 数量上限, 单行金额上限: the service's own check, said beside the button
            settings_service.check_limits(values)
        except ValueError as exc:
            self.settings_msg.setText(str(exc))
            self.settings_msg.setStyleSheet("color: #c00000;")  # a refusal is red, like the other checks
            return

        def done(st):
            self.settings_msg.setText(self.tr("已保存"))
            self.settings_saved.emit(st)

        self.ctx.ops.change(settings_service.save, self.ctx.db, values, actor=self.ctx.operator.login, done=done,
                            failed=lambda e: QMessageBox.warning(self, self.tr("设置"), str(e)))

    # ---------------------------------------------------------- reports, export
    def _browse_reports(self) -> None:
        path = choose_dir(self, self.tr("选择保存月报和对账文件的文件夹"), self.report_folder.text())
        if path:
            self.report_folder.setText(path)

    def _folder(self):
        from pathlib import Path

        text = self.report_folder.text().strip()
        if not text:
            self._report_said(self.tr("请先选择保存的文件夹"), error=True)
            return None
        return Path(text)

    def month_report(self) -> None:
        folder = self._folder()
        if folder is None:
            return
        y, m = self.month.date().year(), self.month.date().month()
        path = folder / f"月报_{y}-{m:02d}.xlsx"
        self.ctx.ops.query(reporting.month_report_xlsx, self.ctx.db, y, m, path,
                           done=lambda p: self._report_said(self.tr("已生成 {0}年{1}月 月报：{2}").format(y, m, p)),
                           failed=lambda e: self._report_said(str(e), error=True))

    def export(self) -> None:
        folder = self._folder()
        if folder is None:
            return
        a, b = (date(d.year(), d.month(), d.day()) for d in (self.export_from.date(), self.export_to.date()))
        out = folder / f"对账_{a:%Y%m%d}-{b:%Y%m%d}"

        def done(res):
            self._report_said(self.tr("已对账导出 {0} 至 {1}：结算 {2} 笔，冲正 {3} 笔；文件夹：{4}（{5} 个文件，清单 {6}）")
                              .format(a, b, res.settlements, res.reversals, res.folder, len(res.files),
                                      res.manifest))

        self.ctx.ops.query(reporting.export, self.ctx.db, a, b, out, done=done,
                           failed=lambda e: self._report_said(str(e), error=True))

    def _report_said(self, text: str, error: bool = False) -> None:
        self.report_msg.setStyleSheet("color: #c00000;" if error else "color: #006100;")
        self.report_msg.setText(text)
