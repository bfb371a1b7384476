"""Table models with column constants (after Vorta's `*_table_model.py`)."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QColor

from desktop_app.core.money import q2
from desktop_app.gui.validate import amount, line_amount_error

CLASS_LABEL = {"01": "甲", "02": "乙", "03": "丙"}
KIND_LABEL = {"drug": "药品", "service": "诊疗", "material": "耗材"}


class ColumnModel(QAbstractTableModel):
    """A flat table whose rows live in `self.rows` and whose columns are named by HEADERS."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.HEADERS[section]
        return None


class ResultsModel(ColumnModel):
    COL_NAME, COL_GENDER, COL_BIRTH, COL_ID, COL_PSN, COL_INSU, COL_MATCH = range(7)
    HEADERS = ("姓名", "性别", "出生日期", "身份证号", "人员编号", "险种", "匹配")

    @property
    def hits(self) -> list:
        return self.rows

    def set_hits(self, hits: list) -> None:
        self.set_rows(hits)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        h = self.hits[index.row()]
        return (h.name, h.gender, h.birth_date.isoformat(), h.id_masked, h.psn_no,
                "职工" if h.insutype == "310" else "居民", h.matched_by)[index.column()]


class ItemsModel(ColumnModel):
    """The visit's lines. The quantity is edited in place and checked as typed; the price, class and kind
    are the price list's and the catalogue's (the settlement takes them for the visit date: #15)."""

    COL_CODE, COL_NAME, COL_CLASS, COL_KIND, COL_QTY, COL_PRICE, COL_AMOUNT, COL_CONFIRM = range(8)
    HEADERS = ("编码", "名称", "类别", "类型", "数量", "单价", "金额", "适应症")

    def __init__(self, parent=None, limits=None):
        super().__init__(parent)
        self.errors: dict[tuple[int, int], str] = {}
        self.locked = False  # a settled visit: no line added, edited or removed
        self._limits = limits  # () -> (max quantity, max line amount) from the settings, or None

    @property
    def lines(self) -> list[dict]:
        return self.rows

    def limits(self) -> tuple[Decimal | None, Decimal | None]:
        return self._limits() if self._limits else (None, None)

    def add(self, item, qty: Decimal) -> str:
        """Add `qty` of `item` (to its line if there is one). Returns why not ("" when added)."""
        if self.locked:
            return "本次就诊已结算，不能再添加项目"
        max_qty, max_amount = self.limits()
        row = next((r for r, ln in enumerate(self.lines)
                    if ln["code"] == item.code and (r, self.COL_QTY) not in self.errors), None)
        new_qty = qty + (Decimal(self.lines[row]["qty"]) if row is not None else 0)
        if max_qty is not None and new_qty > max_qty:
            return f"数量不能超过 {max_qty}（该项目合计 {new_qty}；上限由管理员在设置中调整）"
        if item.price is None:
            return f"{item.name} 今天没有有效的单价（在“收费目录”中调价）"
        err = line_amount_error(new_qty, Decimal(item.price), "该行", max_amount)
        if err:
            return err
        if row is not None:
            self.lines[row]["qty"] = str(new_qty)
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.COL_AMOUNT))
            return ""
        self.beginInsertRows(QModelIndex(), len(self.lines), len(self.lines))
        self.lines.append({"code": item.code, "name": item.name, "chrgitm_lv": item.chrgitm_lv, "kind": item.kind,
                           "qty": str(qty), "price": item.price, "pay_std": item.pay_std, "unit": item.unit,
                           "status": item.status})
        self.endInsertRows()
        return ""

    def remove(self, row: int) -> None:
        if self.locked:
            return
        if 0 <= row < len(self.lines):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.lines[row]
            self.errors = {k: v for k, v in self.errors.items() if k[0] != row}
            self.errors = {((r - 1 if r > row else r), c): v for (r, c), v in self.errors.items()}
            self.endRemoveRows()

    def clear(self) -> None:
        self.errors = {}
        self.set_rows([])

    def total(self) -> Decimal:
        t = Decimal("0.00")
        for r, ln in enumerate(self.lines):
            if not any((r, c) in self.errors for c in (self.COL_QTY, self.COL_PRICE, self.COL_AMOUNT)):
                t += q2(Decimal(ln["qty"]) * Decimal(ln["price"]))
        return t

    def first_error(self) -> str:
        return next(iter(self.errors.values()), "")

    def set_limits(self, limits: dict[str, str]) -> None:
        """The 限定支付范围 of the lines (code → text) from a pre-settlement: those lines get a 适应症 check box.
        Showing it does not change the visit (no dataChanged: the pre-settlement on screen stays valid)."""
        if any(limits.get(ln["code"], "") != ln.get("limit", "") for ln in self.lines):
            self.layoutAboutToBeChanged.emit()
            for ln in self.lines:
                ln["limit"] = limits.get(ln["code"], "")
            self.layoutChanged.emit()

    def add_line(self, line: dict) -> None:
        """A line taken over from another visit (moved to 普通门诊), as it was entered."""
        self.beginInsertRows(QModelIndex(), len(self.lines), len(self.lines))
        self.lines.append({k: v for k, v in line.items() if k not in ("limit", "confirmed")})
        self.endInsertRows()

    def unconfirmed(self) -> list[dict]:
        """The lines with a 限定支付范围 the clerk has not confirmed."""
        return [ln for ln in self.lines if ln.get("limit") and not ln.get("confirmed")]

    def flags(self, index):
        f = super().flags(index)
        if index.column() == self.COL_QTY and not self.locked:
            f |= Qt.ItemFlag.ItemIsEditable
        if index.column() == self.COL_CONFIRM and self.lines[index.row()].get("limit") and not self.locked:
            f |= Qt.ItemFlag.ItemIsUserCheckable
        return f

    def _confirm_data(self, ln: dict, role):
        """The 适应症 cell: a check box on a line with a 限定支付范围, its text as the tooltip."""
        if not ln.get("limit"):
            return None
        if role == Qt.ItemDataRole.CheckStateRole:
            return Qt.CheckState.Checked if ln.get("confirmed") else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            return "已确认" if ln.get("confirmed") else "未确认"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"限定支付范围（请核实适应症后勾选；空格键切换）：{ln['limit']}"
        if role == Qt.ItemDataRole.BackgroundRole and not ln.get("confirmed"):
            return QColor("#fff2cc")
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        ln, c = self.lines[index.row()], index.column()
        if c == self.COL_CONFIRM:
            return self._confirm_data(ln, role)
        err = self.errors.get((index.row(), c))
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if c == self.COL_AMOUNT:
                bad = any((index.row(), k) in self.errors for k in (self.COL_QTY, self.COL_PRICE))
                return "—" if bad else f"{q2(Decimal(ln['qty']) * Decimal(ln['price'])):.2f}"
            cls = CLASS_LABEL.get(ln["chrgitm_lv"], "") if ln.get("status", "mapped") == "mapped" else "自费"
            return (ln["code"], ln["name"], cls, KIND_LABEL.get(ln["kind"], ""), ln["qty"], ln["price"], None)[c]
        if role == Qt.ItemDataRole.ToolTipRole and err:
            return err
        if role == Qt.ItemDataRole.ToolTipRole and c == self.COL_CLASS and ln.get("status", "mapped") != "mapped":
            return "未对照医保目录或对照的目录编码已失效：按全自费结算"
        if role == Qt.ItemDataRole.BackgroundRole and err:
            return QColor("#ffd6d6")
        if role == Qt.ItemDataRole.TextAlignmentRole and c >= self.COL_QTY:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        if (not self.locked and role == Qt.ItemDataRole.CheckStateRole and index.column() == self.COL_CONFIRM
                and self.lines[index.row()].get("limit")):
            self.lines[index.row()]["confirmed"] = Qt.CheckState(value) == Qt.CheckState.Checked
            self.dataChanged.emit(index, index)
            return True
        if self.locked or role != Qt.ItemDataRole.EditRole or index.column() != self.COL_QTY:
            return False
        r, c = index.row(), index.column()
        label = "数量" if c == self.COL_QTY else "单价"
        max_qty, max_amount = self.limits()
        v, msg = amount(str(value), f"第 {r + 1} 行{label}", max_dp=4 if c == self.COL_PRICE else 2,
                        positive=c == self.COL_QTY, maximum=max_qty if c == self.COL_QTY else None)
        key = "qty" if c == self.COL_QTY else "price"
        if msg:
            self.errors[(r, c)] = msg
            self.lines[r][key] = str(value)
        else:
            self.errors.pop((r, c), None)
            self.lines[r][key] = str(v)
        self.errors.pop((r, self.COL_AMOUNT), None)
        if (r, self.COL_QTY) not in self.errors and (r, self.COL_PRICE) not in self.errors:
            ln = self.lines[r]
            err = line_amount_error(Decimal(ln["qty"]), Decimal(ln["price"]), f"第 {r + 1} 行", max_amount)
            if err:
                self.errors[(r, self.COL_AMOUNT)] = err
        self.dataChanged.emit(self.index(r, 0), self.index(r, self.COL_AMOUNT))
        return True
