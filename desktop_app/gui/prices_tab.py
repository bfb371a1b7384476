"""收费目录: this clinic's price list and its mapping onto the insurance catalogue (目录对照).

Search by code, name or pinyin initials; add an item, change its price from a date, stop (停用) or restart
it, map it onto the catalogue; import the catalogue or the price list (checked first: the counts and the
errors, then 导入 after a confirmation) and export the price list. The counts line says how many items are
not mapped and which mapped codes are no longer in the catalogue. Changes need a supervisor."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.dialogs import choose_file, choose_save, confirm
from desktop_app.gui.models import ColumnModel
from desktop_app.gui.prices_dialogs import ItemDialog, MapDialog, PriceDialog
from desktop_app.services import catalogue, prices
from desktop_app.services.catalogue_import import import_catalogue

CLASS = {"01": "甲类", "02": "乙类", "03": "丙类"}


class PriceItemsModel(ColumnModel):
    HEADERS = ("机构项目编码", "名称", "规格", "单位", "单价", "收费类别", "医保目录编码", "等级", "支付标准", "状态")

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            level = CLASS.get(i.chrgitm_lv, "") if i.status == catalogue.MAPPED else catalogue.STATUS_LABELS[i.status]
            state = "停用" if not i.active else ("限定支付范围" if i.limit_text else "")
            return (i.code, i.name, i.spec, i.unit, i.price or "无", i.fee_category, i.ins_code, level,
                    i.pay_std or "", state)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(t for t in (i.ins_name, i.limit_text and "限定支付范围：" + i.limit_text) if t) or None
        if role == Qt.ItemDataRole.ForegroundRole and (not i.active or i.status != catalogue.MAPPED):
            return QColor("#808080") if not i.active else QColor("#c00000")
        return None


class _Progress(QObject):
    changed = Signal(int, int)


class PricesTab(QWidget):
    changed = Signal()  # the price list or the catalogue changed (the 结算 tab reloads its item list)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._gen = 0
        self.report_path: str | None = None
        self._supervisor = ctx.operator.role == "supervisor"
        lay = QVBoxLayout(self)
        lay.addLayout(self._search_row())
        lay.addWidget(self._table(), 1)
        lay.addLayout(self._edit_row())
        lay.addLayout(self._file_row())
        self.progress = QProgressBar()
        self.progress.setObjectName("prices_progress")
        self.progress.setValue(0)
        lay.addWidget(self.progress)
        self.result = QLabel("")
        self.result.setObjectName("prices_result")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.result)
        self._connect()
        if not self._supervisor:  # a clerk looks things up; changing needs a supervisor
            for b in (self.add_btn, self.price_btn, self.stop_btn, self.start_btn, self.map_btn, self.import_btn,
                      self.catalogue_btn):
                b.setEnabled(False)
                b.setToolTip(self.tr("需要管理员"))
        self.refresh()

    def _search_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("prices_search")
        self.search.setPlaceholderText(self.tr("机构项目编码 / 名称 / 拼音首字母"))
        row.addWidget(self.search, 2)
        self.show_stopped = QCheckBox(self.tr("显示停用"))
        row.addWidget(self.show_stopped)
        self.counts = QLabel("")
        self.counts.setObjectName("prices_counts")
        self.counts.setWordWrap(True)
        row.addWidget(self.counts, 3)
        return row

    def _table(self) -> QTableView:
        self.model = PriceItemsModel(self)
        self.view = QTableView()
        self.view.setObjectName("prices_view")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        return self.view

    def _edit_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_btn = QPushButton(self.tr("添加项目…"))
        self.price_btn = QPushButton(self.tr("调价…"))
        self.stop_btn = QPushButton(self.tr("停用"))
        self.start_btn = QPushButton(self.tr("启用"))
        self.map_btn = QPushButton(self.tr("对照医保目录…"))
        for b in (self.add_btn, self.price_btn, self.stop_btn, self.start_btn, self.map_btn):
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _file_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.catalogue_btn = QPushButton(self.tr("导入医保目录…"))
        self.catalogue_btn.setObjectName("import_catalogue")
        self.import_btn = QPushButton(self.tr("导入收费目录…"))
        self.import_btn.setObjectName("import_prices")
        self.export_btn = QPushButton(self.tr("导出收费目录…"))
        self.export_btn.setObjectName("export_prices")
        self.report_btn = QPushButton(self.tr("打开错误报告"))
        self.report_btn.setEnabled(False)
        for b in (self.catalogue_btn, self.import_btn, self.export_btn, self.report_btn):
            row.addWidget(b)
        row.addStretch(1)
        return row

    def _connect(self) -> None:
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.show_stopped.toggled.connect(lambda _c: self.refresh())
        self.add_btn.clicked.connect(self.add_item)
        self.price_btn.clicked.connect(self.change_price)
        self.stop_btn.clicked.connect(lambda: self.set_active(False))
        self.start_btn.clicked.connect(lambda: self.set_active(True))
        self.map_btn.clicked.connect(self.map_item)
        self.catalogue_btn.clicked.connect(lambda: self.import_file("catalogue"))
        self.import_btn.clicked.connect(lambda: self.import_file("prices"))
        self.export_btn.clicked.connect(self.export)
        self.report_btn.clicked.connect(lambda: self.report_path and QDesktopServices.openUrl(
            QUrl.fromLocalFile(self.report_path)))

    # ------------------------------------------------------------------ reading
    def refresh(self) -> None:
        self._gen += 1
        gen, text, stopped = self._gen, self.search.text(), self.show_stopped.isChecked()

        keep = self.selected()

        def done(rows):
            if gen == self._gen:
                self.model.set_rows(rows)
                row = next((r for r, i in enumerate(rows) if keep is not None and i.code == keep.code), None)
                if row is not None:  # the item worked on stays selected
                    self.view.selectRow(row)
                self.view.resizeColumnsToContents()
                self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

        if text.strip():
            self.ctx.ops.query(catalogue.search_items, self.ctx.db, text, 500, include_stopped=stopped, done=done,
                               failed=self._failed)
        else:
            self.ctx.ops.query(catalogue.all_items, self.ctx.db, include_stopped=stopped, done=done,
                               failed=self._failed)
        self.ctx.ops.query(catalogue.counts, self.ctx.db, done=self._show_counts, failed=self._failed)

    def _show_counts(self, c) -> None:
        text = self.tr("项目 {0} 个（停用 {1}）；未对照 {2} 个；对照编码已失效 {3} 个；医保目录今天有效编码 {4} 个").format(
            c.items, c.stopped, c.unmapped, len(c.expired), c.catalogue_codes_in_force)
        if c.expired:
            text += self.tr("（失效：{0}）").format("、".join(c.expired[:8]))
        self.counts.setText(text)

    def selected(self):
        idx = self.view.currentIndex()
        return self.model.rows[idx.row()] if idx.isValid() else None

    def _need_selection(self):
        it = self.selected()
        if it is None:
            self._say(self.tr("请先在列表中选择一个项目"), error=True)
        return it

    # ------------------------------------------------------------------ changes
    def _change(self, fn, *args, said: str, **kwargs) -> None:
        def done(_r):
            self._say(said)
            self.refresh()
            self.changed.emit()

        self.ctx.ops.change(fn, self.ctx.db, *args, actor=self.ctx.operator.login, done=done, failed=self._failed,
                            **kwargs)

    def add_item(self) -> None:
        dlg = ItemDialog(self.ctx, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            code = dlg.fields["机构项目编码"]
            self._change(prices.add_item, dlg.fields, said=self.tr("已添加 {0}").format(code))

    def change_price(self) -> None:
        it = self._need_selection()
        if it is None:
            return
        dlg = PriceDialog(it, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self._change(prices.change_price, it.code, dlg.price, dlg.valid_from,
                         said=self.tr("{0} 自 {1} 起单价 {2} 元").format(it.code, dlg.valid_from, dlg.price))

    def set_active(self, active: bool) -> None:
        it = self._need_selection()
        if it is None:
            return
        verb = self.tr("启用") if active else self.tr("停用")
        self._change(prices.set_active, it.code, active, said=self.tr("已{0} {1}（已结算的就诊不受影响）").format(verb, it.code))

    def map_item(self) -> None:
        it = self._need_selection()
        if it is None:
            return
        dlg = MapDialog(self.ctx, it.name, self)
        dlg.setWindowTitle(self.tr("对照医保目录：{0} {1}（现对照 {2}）").format(it.code, it.name, it.ins_code or "无"))
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.chosen is not None:
            said = (self.tr("{0} 已对照到 {1}").format(it.code, dlg.chosen) if dlg.chosen
                    else self.tr("{0} 已取消对照（全自费）").format(it.code))
            self._change(prices.map_item, it.code, dlg.chosen, said=said)

    # -------------------------------------------------------------------- files
    def import_file(self, what: str) -> None:
        label = self.tr("医保目录") if what == "catalogue" else self.tr("收费目录")
        path = choose_file(self, self.tr("选择{0}文件").format(label), self.tr("{0} (*.xlsx *.csv)").format(label))
        if path:
            self._run_import(what, path, dry_run=True)

    def _run_import(self, what: str, path: str, *, dry_run: bool) -> None:
        fn = import_catalogue if what == "catalogue" else prices.import_prices
        prog = _Progress(self)
        prog.changed.connect(lambda i, n: (self.progress.setRange(0, max(n, 1)), self.progress.setValue(i)),
                             Qt.ConnectionType.QueuedConnection)
        self.progress.setRange(0, 0)
        self._busy(True)
        self.ctx.ops.change(fn, self.ctx.db, path, actor=self.ctx.operator.login, dry_run=dry_run,
                            progress=lambda i, n: prog.changed.emit(i, n),
                            done=lambda r: self._imported(what, path, r), failed=self._failed)

    def _summary(self, what: str, r) -> str:
        if what == "catalogue":
            return self.tr("共 {0} 行：新增 {1} 行，取代旧目录 {2} 行").format(r.rows, r.inserted, r.superseded)
        return self.tr("共 {0} 行：新增 {1} 项，更新 {2} 项，调价 {3} 项").format(r.rows, r.inserted, r.updated,
                                                                               r.price_changes)

    def _imported(self, what: str, path: str, r) -> None:
        self._busy(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        name = Path(path).name
        self.report_path = r.report_path
        self.report_btn.setEnabled(bool(r.report_path))
        if r.errors:
            lines = "".join(f"\n第 {e.row} 行 {e.psn_no} {e.field}：{e.reason}" for e in r.errors[:5])
            self._say(self.tr("{0}：{1}；有 {2} 行错误，整份未导入。错误报告：{3}{4}").format(
                name, self._summary(what, r), r.rejected, r.report_path or r.report_note, lines), error=True)
            return
        if r.dry_run:
            note = ("\n" + r.encoding_note) if r.encoding_note else ""
            if confirm(self, self.tr("导入"), self.tr("{0} 校验通过：{1}。{2}\n\n现在导入吗？").format(
                    name, self._summary(what, r), note), default_yes=True):
                self._run_import(what, path, dry_run=False)
            else:
                self._say(self.tr("{0} 校验通过，未导入").format(name))
            return
        self._say(self.tr("已导入 {0}：{1}").format(name, self._summary(what, r)))
        self.refresh()
        self.changed.emit()

    def export(self) -> None:
        path = choose_save(self, self.tr("导出收费目录"), self.tr("Excel 文件 (*.xlsx);;CSV 文件 (*.csv)"),
                           str(self.ctx.reports_dir / "收费目录.xlsx"), "xlsx")
        if path:
            self.ctx.ops.query(prices.export_prices, self.ctx.db, path,
                               done=lambda n: self._say(self.tr("已导出 {0} 项：{1}").format(n, path)),
                               failed=self._failed)

    # ------------------------------------------------------------------ output
    def _busy(self, busy: bool) -> None:
        for b in (self.catalogue_btn, self.import_btn):
            b.setEnabled(not busy and self._supervisor)

    def _failed(self, exc) -> None:
        self._busy(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._say(getattr(exc, "message", None) or str(exc), error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.result.setStyleSheet("color: #c00000;" if error else "color: #006100;")
        self.result.setText(text)
