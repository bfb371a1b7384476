"""The catalogue and the price list: import-catalogue, import-prices, export-prices, items, check-ready.

An import with a bad row imports nothing and exits 2 (输入有误) with the error report; `--dry-run` checks
and reports the same way without writing. Refusals are reported by `desktop_app.cli.main`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

from desktop_app.cli.common import common_options, emit, open_database, signed_in
from desktop_app.core.claim_io import InvalidInput
from desktop_app.errors import EXIT_INVALID, EXIT_OK


def _errors_text(r) -> str:
    text = ""
    if r.report_path:
        text += f"\n错误报告：{r.report_path}"
    shown = r.errors[:20] if r.report_path else r.errors[:50]
    text += "".join(f"\n  第 {e.row} 行 {e.psn_no} {e.field}：{e.reason}" for e in shown)
    if len(r.errors) > len(shown):
        text += f"\n  ……共 {len(r.errors)} 行（见错误报告；--json 输出前 200 行）"
    if r.report_note:
        text += f"\n注意：{r.report_note}"
    return text


def _verdict(r, what: str) -> str:
    if r.dry_run:
        return "只校验，未导入。" + ("" if not r.errors else f"有 {r.rejected} 行错误：改正后才能导入（{what}只整份导入）。")
    if r.written:
        return "已导入。"
    return f"有 {r.rejected} 行错误，整份文件未导入（{what}只整份导入，以免目录缺项）：请按错误报告改正后重新导入。"


def _emit_import(args, r, text: str) -> int:
    if r.encoding_note:
        text += f"\n注意：{r.encoding_note}。"
    text += _errors_text(r)
    data = asdict(r)
    data["errors"] = data["errors"][:200]
    emit(data, args.json, text)
    return EXIT_INVALID if r.errors else EXIT_OK


@signed_in(supervisor="导入医保目录", dry_run_open=True)  # a dry run: anyone signed in (docs/catalogue.md)
def cmd_import_catalogue(args, d, op) -> int:
    from desktop_app.services.catalogue_import import import_catalogue

    r = import_catalogue(d, args.file, actor=op.login, dry_run=args.dry_run)
    text = (f"医保目录 {Path(r.path).name}：共 {r.rows} 行，{'将新增' if not r.written else '新增'} {r.inserted} 行，"
            f"{'将取代' if not r.written else '取代'}旧目录 {r.superseded} 行（自新行的开始日期起；历史保留）。"
            + _verdict(r, "医保目录"))
    return _emit_import(args, r, text)


@signed_in(supervisor="导入收费目录", dry_run_open=True)
def cmd_import_prices(args, d, op) -> int:
    from desktop_app.services.prices import import_prices

    r = import_prices(d, args.file, actor=op.login, dry_run=args.dry_run)
    verb = "" if r.written else "将"
    text = (f"收费目录 {Path(r.path).name}：共 {r.rows} 行，{verb}新增 {r.inserted} 项，{verb}更新 {r.updated} 项，"
            f"{verb}调价 {r.price_changes} 项。" + _verdict(r, "收费目录"))
    return _emit_import(args, r, text)


@signed_in()
def cmd_export_prices(args, d, op) -> int:
    from desktop_app.services.prices import export_prices

    on = _day(args.date)
    n = export_prices(d, args.file, on=on)
    emit({"file": str(args.file), "items": n, "date": on}, args.json,
         f"已导出收费目录 {n} 项（{on} 的单价）：{args.file}")
    return EXIT_OK


def _day(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("date", f"日期“{value}”无效，应为 YYYY-MM-DD") from None


@signed_in()
def cmd_items(args, d, op) -> int:
    from desktop_app.core.model import CLASSES
    from desktop_app.services.catalogue import STATUS_LABELS, search_items

    on = _day(args.date)
    hits = search_items(d, args.search, limit=args.limit, on=on, include_stopped=args.all)
    lines = [f"{len(hits)} 个项目（{on}）：" if hits else f"没有与“{args.search}”匹配的项目"]
    for i in hits:
        cls = CLASSES.get(i.chrgitm_lv, i.chrgitm_lv) if i.status == "mapped" else STATUS_LABELS[i.status]
        extra = (f" 支付标准 {i.pay_std}" if i.pay_std else "") + ("" if i.active else " [停用]")
        lines.append(f"  {i.code}  {i.name} {i.spec} /{i.unit}  单价 {i.price or '无'}  {i.fee_category}  {cls}"
                     f"{'  ' + i.ins_code if i.ins_code else ''}{extra}")
    emit({"date": on, "items": [asdict(i) for i in hits]}, args.json, "\n".join(lines))
    return EXIT_OK


def cmd_check_ready(args) -> int:
    """No sign-in: a new clinic may not have an operator yet, and the list holds counts, no person data."""
    from desktop_app.services.readiness import STATUS_LABELS, check_ready

    d = open_database(args)
    r = check_ready(d, _day(args.date))
    mark = {"ok": "✔", "warn": "!", "missing": "✘"}
    lines = [f"开业检查（{r.on}）：{'可以开始结算' if r.ready else '尚不能开始结算'}"]
    lines += [f"  {mark[c.status]} {c.label}【{STATUS_LABELS[c.status]}】{c.detail}" for c in r.checks]
    emit({"date": r.on, "ready": r.ready, "checks": [asdict(c) for c in r.checks]}, args.json, "\n".join(lines))
    return EXIT_OK if r.ready else 1


def _import_arguments(func, help_file: str):
    def build(p) -> None:
        p.add_argument("file", help=help_file)
        p.add_argument("--dry-run", action="store_true", help="只校验每一行并写错误报告，不导入")
        common_options(p)
        p.set_defaults(func=func)

    return build


def _export_arguments(p) -> None:
    p.add_argument("file", help="导出到的文件（.xlsx 或 .csv），格式与导入相同")
    p.add_argument("--date", help="单价的日期（默认今天）")
    common_options(p)
    p.set_defaults(func=cmd_export_prices)


def _items_arguments(p) -> None:
    p.add_argument("search", help="机构项目编码（开头）、名称（包含）或拼音首字母（开头）")
    p.add_argument("--date", help="按该日的单价和医保目录显示（默认今天）")
    p.add_argument("--all", action="store_true", help="也显示已停用的项目")
    p.add_argument("--limit", type=int, default=30)
    common_options(p)
    p.set_defaults(func=cmd_items)


def _check_ready_arguments(p) -> None:
    p.add_argument("--date", help="检查的日期（默认今天）")
    common_options(p, operator=False)
    p.set_defaults(func=cmd_check_ready)


ARGUMENTS = {
    "import-catalogue": _import_arguments(cmd_import_catalogue, "医保目录文件（.xlsx 或 .csv，UTF-8 或 GBK）"),
    "import-prices": _import_arguments(cmd_import_prices, "本机构收费目录文件（.xlsx 或 .csv，UTF-8 或 GBK）"),
    "export-prices": _export_arguments,
    "items": _items_arguments,
    "check-ready": _check_ready_arguments,
}
