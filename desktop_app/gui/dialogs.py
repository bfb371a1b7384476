"""File and folder choosers in Chinese on every system, and the yes/no question of an act that cannot
be undone.

Qt's own (non-native) dialog is used, with our labels: Qt's shipped zh_CN translation leaves
"Look in", "Files of type" and the type column ("Folder") in English, and a native dialog
cannot be driven by a test. The list view shows names only (no untranslated type column).
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox

LABELS = {
    QFileDialog.DialogLabel.LookIn: "查找范围：",
    QFileDialog.DialogLabel.FileName: "名称(&N)：",
    QFileDialog.DialogLabel.FileType: "文件类型(&T)：",
    QFileDialog.DialogLabel.Reject: "取消",
}


def _dialog(parent, title: str, start: str) -> QFileDialog:
    dlg = QFileDialog(parent, title, start)
    dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dlg.setViewMode(QFileDialog.ViewMode.List)
    for label, text in LABELS.items():
        dlg.setLabelText(label, text)
    return dlg


def choose_dir(parent, title: str, start: str = "") -> str:
    """A folder, or "" when the clerk cancels."""
    dlg = _dialog(parent, title, start)
    dlg.setFileMode(QFileDialog.FileMode.Directory)
    dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dlg.setLabelText(QFileDialog.DialogLabel.Accept, "选择")
    dlg.setLabelText(QFileDialog.DialogLabel.FileType, "类型：")
    ok = dlg.exec() == QFileDialog.DialogCode.Accepted
    return dlg.selectedFiles()[0] if ok and dlg.selectedFiles() else ""


def choose_file(parent, title: str, name_filter: str, start: str = "") -> str:
    """An existing file, or "" when the clerk cancels."""
    dlg = _dialog(parent, title, start)
    dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
    dlg.setNameFilter(name_filter)
    dlg.setLabelText(QFileDialog.DialogLabel.Accept, "打开")
    ok = dlg.exec() == QFileDialog.DialogCode.Accepted
    return dlg.selectedFiles()[0] if ok and dlg.selectedFiles() else ""


def confirm(parent, title: str, text: str, *, default_yes: bool) -> bool:
    """Ask 是/否 (Esc is 否; Enter is the default answer); True for 是. The box is deleted afterwards."""
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    box = QMessageBox(QMessageBox.Icon.Question, title, text, yes | no, parent)
    box.setDefaultButton(yes if default_yes else no)
    box.setEscapeButton(no)
    try:
        box.exec()
        return box.standardButton(box.clickedButton()) == yes
    finally:
        box.deleteLater()


def choose_save(parent, title: str, name_filter: str, start: str = "", suffix: str = "") -> str:
    """A file name to write (the clerk confirms replacing one that exists), or "" when cancelled."""
    dlg = _dialog(parent, title, start)
    dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dlg.setFileMode(QFileDialog.FileMode.AnyFile)
    dlg.setNameFilter(name_filter)
    if suffix:
        dlg.setDefaultSuffix(suffix)
    dlg.setLabelText(QFileDialog.DialogLabel.Accept, "保存")
    ok = dlg.exec() == QFileDialog.DialogCode.Accepted
    return dlg.selectedFiles()[0] if ok and dlg.selectedFiles() else ""
