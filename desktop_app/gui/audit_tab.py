"""审计 (supervisors): the latest audit entries and a chain check."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.gui.models import ColumnModel
from desktop_app.services import audit

ACTIONS = {"settle": "结算", "reverse": "冲正", "day_close": "日结", "login": "登录", "login_failed": "登录失败",
           "login_refused": "锁定中登录", "pack_sync": "导入政策包", "roster_import": "导入花名册", "settings": "修改设置",
           "account_add": "添加操作员", "account_passwd": "改密码", "account_disable": "停用操作员",
           "account_enable": "启用操作员", "restore": "从备份恢复", "key_trust": "添加信任公钥", "key_untrust": "移除信任公钥",
           "id_reveal": "查看完整证件号", "backup": "备份", "catalogue_import": "导入医保目录",
           "price_import": "导入收费目录", "price_item_add": "添加收费项目", "price_change": "调价",
           "price_item_stop": "停用收费项目", "price_item_start": "启用收费项目", "price_item_map": "目录对照"}


class AuditModel(ColumnModel):
    COL_ID, COL_AT, COL_ACTOR, COL_ACTION, COL_SUBJECT, COL_DETAIL = range(6)
    HEADERS = ("序号", "时间", "操作员", "操作", "对象", "内容")

    def data(self, index, role=0):
        if not index.isValid() or role != 0:
            return None
        e = self.rows[index.row()]
        return (str(e.id), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, ACTIONS.get(e.action, e.action), e.subject,
                "，".join(f"{k}={v}" for k, v in e.detail.items()))[index.column()]


class AuditTab(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        lay = QVBoxLayout(self)
        self.model = AuditModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.verticalHeader().hide()
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        lay.addWidget(self.view)
        self.result = QLabel("")
        self.result.setObjectName("audit_result")
        self.result.setWordWrap(True)
        lay.addWidget(self.result)
        row = QHBoxLayout()
        self.refresh_btn = QPushButton(self.tr("刷新"))
        self.verify_btn = QPushButton(self.tr("校验审计链"))
        self.verify_btn.setObjectName("audit_verify")
        row.addWidget(self.refresh_btn)
        row.addWidget(self.verify_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.refresh_btn.clicked.connect(self.refresh)
        self.verify_btn.clicked.connect(self.verify)
        self.refresh()

    def refresh(self) -> None:
        def done(rows):
            self.model.set_rows(rows)
            self.view.resizeColumnsToContents()

        self.ctx.ops.query(audit.recent, self.ctx.db, 500, actor=self.ctx.operator.login, done=done)

    def verify(self) -> None:
        def done(r):
            if r.ok:
                self.result.setStyleSheet("color: #006100;")
                self.result.setText(self.tr("审计链完整：{0} 条记录，{1} 笔结算与记录一致。").format(r.entries, r.settlements))
            else:
                self.result.setStyleSheet("color: #c00000; font-weight: bold;")
                self.result.setText("\n".join(p.message for p in r.problems))

        self.ctx.ops.query(audit.verify, self.ctx.db, actor=self.ctx.operator.login, done=done)
