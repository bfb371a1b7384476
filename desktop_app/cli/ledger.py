"""The clerk's commands: lookup, settle (and --dry-run), reverse, day-close, receipt, report, export.

Each signs in first, prints Chinese text (or JSON with --json) and raises a `Refused` when a rule
says no; `desktop_app.cli.main` reports it with the exit code of `desktop_app.errors`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from desktop_app.cli.common import common_options, emit, refusing, signed_in
from desktop_app.core.claim_io import InvalidInput
from desktop_app.errors import Refused


def _fmt_money(v) -> str:
    return "未定" if v is None else f"{v}"


def _day(value: str | None, field: str) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"日期“{value}”无效，应为 YYYY-MM-DD") from None


# ---------------------------------------------------------------------------
# lookup
# ---------------------------------------------------------------------------
def _summary_text(s) -> str:
    lines = [
        f"{s.name}（{s.gender}，{s.age}岁）  人员编号 {s.psn_no}  身份证号 {s.id_full or s.id_masked}",
        f"{s.insutype_label} · {s.category_label} · 参保地 {s.admdvs} {s.region}",
        f"家庭医生签约：{s.family_doctor_at or '无'}；登记病种："
        + ("、".join(f"{c} {n}" for c, n in s.registered_diseases) or "无"),
        f"个人账户余额 {s.acct_balance} 元；中心数据截至 {s.as_of}"
        + (f"；缴费年度 {s.contrib_year}" if s.contrib_year is not None else ""),
    ]
    for b in s.benefits:
        dis = f"（{b.disease}）" if b.disease else ""
        cap = (f"年度限额 {_fmt_money(b.annual_cap)}，剩余 {_fmt_money(b.annual_remaining)}"
               if b.annual_cap is not None else b.cap_note)
        q = (f"；第{b.quarter}季度已付 {b.quarter_paid}，季度限额 {b.quarterly_cap}，剩余 {b.quarterly_remaining}"
             if b.quarterly_cap is not None else "")
        lines.append(f"  {b.benefit_label}{dis}：本年统筹已支付 {b.fund_paid}；{cap}{q}")
    return "\n".join(lines)


@signed_in()
def cmd_lookup(args, d, op) -> int:
    from dataclasses import replace

    from desktop_app.services.lookup import reveal_id, search, summary

    hits = search(d, args.query)
    if not hits:
        raise Refused(f"没有找到与“{args.query}”匹配的参保人", code="not_found")
    if len(hits) > 1 and not args.first:
        lines = [f"找到 {len(hits)} 人（最多显示 50 人）："]
        for h in hits:
            lines.append(f"  {h.psn_no}  {h.name}  {h.gender}  {h.birth_date}  {h.id_masked}  [{h.matched_by}]")
        emit({"hits": [asdict(h) for h in hits]}, args.json, "\n".join(lines))
        return 0
    s = summary(d, hits[0].psn_no)
    if args.full_id:  # a supervisor's deliberate act, audited (the service checks the role)
        s = replace(s, id_full=reveal_id(d, s.psn_no, actor=op.login, via="cli"))
    emit(s, args.json, _summary_text(s))
    return 0


# ---------------------------------------------------------------------------
# settle, reverse, day-close
# ---------------------------------------------------------------------------
VISIT_FIELDS = {"psn_no", "date", "benefit", "disease", "delivery", "use_account", "family_account",
                "institution", "items", "reason", "diagnosis"}
ITEM_FIELDS = {"code", "qty", "price", "name", "kind", "chrgitm_lv", "pay_std", "fee_category", "indication_confirmed"}
# 全自费 (docs/ledger.md): "self_pay": true with psn_no (an insured person) or walk_in (not in the roster)
SELF_PAY_FIELDS = {"self_pay", "self_pay_reason", "psn_no", "walk_in", "date", "items", "reason", "diagnosis"}
WALK_IN_FIELDS = {"name", "id_no", "gender"}
MAX_VISIT_BYTES = 4 * 1024 * 1024  # a visit of 1,000 items is ~200 KB


def _read_visit(path: str) -> object:
    """The visit file (or standard input) as JSON, read exactly: UTF-8 only, numbers as Decimal."""
    from desktop_app.core.claim_io import load_json

    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_VISIT_BYTES + 1)
        else:
            with Path(path).open("rb") as fh:
                data = fh.read(MAX_VISIT_BYTES + 1)
    except OSError as exc:
        raise InvalidInput("visit", f"无法读取就诊信息文件 {path}：{exc.strerror or exc}") from None
    if len(data) > MAX_VISIT_BYTES:
        raise InvalidInput("visit", f"就诊信息文件过大（超过 {MAX_VISIT_BYTES // (1024 * 1024)} MB）")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("visit", "就诊信息文件不是 UTF-8 编码（可能是 GBK/ANSI）：请用 UTF-8 保存后重试") from None
    if not text.strip():
        raise InvalidInput("visit", "就诊信息文件是空的")
    return load_json(text, "visit")


def _visit_item(i: int, it: object):
    """One line of the visit file as the service takes it; the service checks and normalises the values."""
    from desktop_app.services.ledger_types import ItemInput

    if not isinstance(it, dict):
        raise InvalidInput(f"items[{i}]", "每条明细须为 JSON 对象，至少要有 code 和 qty")
    for k in it:
        if k not in ITEM_FIELDS:
            raise InvalidInput(f"items[{i}]", f"明细中的未知字段“{str(k)[:40]}”")
    for k in ("code", "qty"):
        if it.get(k) is None:
            raise InvalidInput(f"items[{i}].{k}", f"每条明细至少要有 code 和 qty（缺少 {k}）")
    return ItemInput(code=it["code"], qty=it["qty"], price=it.get("price"), name=it.get("name"),
                     kind=it.get("kind"), chrgitm_lv=it.get("chrgitm_lv"), pay_std=it.get("pay_std"),
                     fee_category=it.get("fee_category"), indication_confirmed=it.get("indication_confirmed", False))


def _visit_date(raw: object) -> date:
    if raw is None or raw == "":
        return date.today()
    try:
        if isinstance(raw, str) and len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise InvalidInput("date", f"就诊日期“{str(raw)[:40]}”不是有效日期（应为 YYYY-MM-DD）")


def _psn_no(raw: object) -> object:
    """人员编号 as text; a whole JSON number (a script's) is read as its digits."""
    if isinstance(raw, Decimal) and raw == raw.to_integral_value() and raw >= 0 and raw.adjusted() < 32:
        return format(raw, "f")
    return raw


def _visit_from_json(path: str):
    """The visit file of docs/ledger.md → VisitInput; InvalidInput names the field. Values are checked
    and normalised by the service (services/ledger.py), for the window and this command alike."""
    from desktop_app.services.ledger_types import VisitInput

    raw = _read_visit(path)
    if not isinstance(raw, dict):
        raise InvalidInput("(根)", "就诊信息须为 JSON 对象")
    if "self_pay" in raw:
        return _self_pay_from_json(raw)
    for k in raw:
        if k not in VISIT_FIELDS:
            raise InvalidInput(str(k)[:40], f"未知字段“{str(k)[:40]}”")
    for k in ("psn_no", "benefit", "items"):
        if raw.get(k) is None or raw.get(k) == "":
            raise InvalidInput(k, f"缺少必填字段 {k}")
    if not isinstance(raw["items"], list):
        raise InvalidInput("items", "费用明细 items 须为列表（[…]）")
    items = [_visit_item(i, it) for i, it in enumerate(raw["items"])]
    return VisitInput(psn_no=_psn_no(raw["psn_no"]), date=_visit_date(raw.get("date")), benefit=raw["benefit"],
                      items=items, disease=raw.get("disease"), delivery=raw.get("delivery"),
                      use_account=raw.get("use_account", True), family_account=raw.get("family_account"),
                      institution=raw.get("institution"), reason=str(raw.get("reason") or ""),
                      diagnosis=raw.get("diagnosis"))


def _self_pay_from_json(raw: dict):
    """A 全自费 visit: `"self_pay": true`, and `psn_no` (an insured person paying everything) or `walk_in`
    ({"name", "id_no", "gender"}: a person not in the roster). The service checks the values."""
    from desktop_app.services.selfpay import SelfPayInput, WalkIn

    if raw["self_pay"] is not True:
        raise InvalidInput("self_pay", "self_pay 须为 true（按医保结算时不写该字段）")
    for k in raw:
        if k not in SELF_PAY_FIELDS:
            raise InvalidInput(str(k)[:40], f"全自费就诊中的未知字段“{str(k)[:40]}”（全自费不用 benefit、病种、个人账户）")
    if not isinstance(raw.get("items"), list):
        raise InvalidInput("items", "费用明细 items 须为列表（[…]）")
    walk = raw.get("walk_in")
    if walk is not None:
        if not isinstance(walk, dict):
            raise InvalidInput("walk_in", "walk_in 须为 JSON 对象：{\"name\": …, \"id_no\": …, \"gender\": …}")
        for k in walk:
            if k not in WALK_IN_FIELDS:
                raise InvalidInput(f"walk_in.{str(k)[:30]}", f"walk_in 中的未知字段“{str(k)[:30]}”")
        walk = WalkIn(name=walk.get("name", ""), id_no=walk.get("id_no") or "", gender=walk.get("gender") or "")
    return SelfPayInput(date=_visit_date(raw.get("date")), items=[_visit_item(i, it) for i, it in enumerate(raw["items"])],
                        psn_no=None if raw.get("psn_no") is None else _psn_no(raw["psn_no"]), walk_in=walk,
                        why=raw.get("self_pay_reason") or ("walk_in" if walk is not None else "chosen"),
                        reason=str(raw.get("reason") or ""), diagnosis=raw.get("diagnosis"))


def _rec_json(rec) -> dict:
    d = asdict(rec)
    d["claim"] = json.loads(d.pop("claim_json"))
    return d


def _settlement_text(rec) -> str:
    r = rec.result
    head = "冲正" if rec.kind == "reverse" else "结算"
    lines = [f"{head}单号 {rec.setl_no}" + ("（重复请求，返回首次结果）" if rec.replayed else ""),
             f"{'自费患者' if not rec.psn_no else '参保人'} {rec.person_name}（{rec.psn_no or '未在花名册'}）  "
             f"就诊日期 {rec.visit_date}  操作员 {rec.operator}"]
    if rec.benefit == "self_pay":
        lines.append("全自费（未使用医保）：医保基金和个人账户均未支付")
    if rec.original_setl_no:
        lines.append(f"原结算单号 {rec.original_setl_no}；原因：{rec.reason}")
    lines.append(f"医疗费总额 {r['medfee_sumamt']}  统筹基金 {r['hifp_pay']}  大病/大额 "
                 f"{Decimal(r['hifmi_pay']) + Decimal(r['hifob_pay'])}  个人账户 {r['acct_pay']}  "
                 f"家庭共济 {r['acct_mulaid_pay']}  现金 {r['psn_cash_pay']}")
    for n in r.get("notices", []):
        lines.append(f"  提示：{n['message']}")
    return "\n".join(lines)


def _presettle_text(r: dict) -> str:
    """The dry run as the settle prints it: every amount by its receipt label, the notices, then the basis."""
    from desktop_app.core.model import MONEY_LABELS

    money = [f"{label} {r[k]}" for k, label in MONEY_LABELS.items() if isinstance(r.get(k), str)]
    text = "预结算（未保存）\n" + "\n".join("  " + "  ".join(money[i:i + 4]) for i in range(0, len(money), 4))
    for n in r.get("notices", []):
        text += f"\n  提示：{n['message']}"
    for t in r.get("trace", []):
        text += f"\n  依据 {t['step']} = {t['value']}：{t.get('label', '')}（{t['basis']}）"
    return text


@signed_in()
def cmd_settle(args, d, op) -> int:
    from desktop_app.services import ledger, selfpay

    visit = _visit_from_json(args.visit)
    service = selfpay if isinstance(visit, selfpay.SelfPayInput) else ledger  # 全自费, or by the insurance
    if args.dry_run:
        r = service.presettle(d, visit, operator=op.login).result
        emit(r, args.json, _presettle_text(r))
        return 0
    rec = service.settle(d, visit, token=args.token, operator=op.login)
    emit(_rec_json(rec), args.json, _settlement_text(rec))
    return 0


@signed_in()
def cmd_reverse(args, d, op) -> int:
    from desktop_app.services import ledger

    rec = ledger.reverse(d, args.setl_no, reason=args.reason, operator=op.login, token=args.token)
    emit(_rec_json(rec), args.json, _settlement_text(rec))
    return 0


@signed_in()
def cmd_day_close(args, d, op) -> int:
    """日结 as in the window: close the day, back it up (verified), write the 日结单 (xlsx and PDF)."""
    from desktop_app.services import closing, database

    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise InvalidInput("date", f"日期“{args.date}”无效") from None
    try:
        out = closing.close_day(d, operator=op.login, day=day,
                                folder=Path(args.out) if args.out else database.reports_dir(d))
    except database.BackupError as exc:
        raise Refused(f"已日结，但备份未完成，日结单未生成：{exc}", code="backup_failed") from exc
    rec, t = out.record, out.record.totals
    lines = [f"{rec.business_date} 已日结：结算 {t['settlements']} 笔，冲正 {t['reversals']} 笔。",
             f"合计：医疗费 {t['totals']['medfee_sumamt']}，统筹基金 {t['totals']['hifp_pay']}，"
             f"个人账户 {t['totals']['acct_pay']}，现金 {t['totals']['psn_cash_pay']}"]
    for k, g in t["by_insutype_benefit"].items():
        lines.append(f"  {k}：{g['count']} 笔，医疗费 {g['medfee_sumamt']}，统筹 {g['hifp_pay']}，现金 {g['psn_cash_pay']}")
    lines += [f"日结单：{out.xlsx}、{out.pdf}"] + ([f"备份（已校验）：{out.backup}"] if out.backup else [])
    emit({**asdict(rec), "backup": out.backup, "xlsx": str(out.xlsx), "pdf": str(out.pdf)}, args.json,
         "\n".join(lines))
    return 0


@signed_in()
def cmd_day_reopen(args, d, op) -> int:
    """撤销日结 (supervisor): a day closed by mistake that holds no settlement opens again (audited)."""
    from desktop_app.services import days

    try:
        day = date.fromisoformat(args.date) if args.date else date.today()
    except ValueError:
        raise InvalidInput("date", f"日期“{args.date}”无效") from None
    days.reopen_day(d, operator=op.login, day=day, reason=args.reason)
    emit({"reopened": day.isoformat(), "reason": args.reason}, args.json, f"已撤销 {day} 的日结，可以继续结算。")
    return 0


# ---------------------------------------------------------------------------
# receipt, report, export
# ---------------------------------------------------------------------------
@signed_in()
def cmd_receipt(args, d, op) -> int:
    from datetime import datetime

    from desktop_app.reports.fonts import register_fonts
    from desktop_app.reports.receipt import ReceiptData, receipt_pages, render_pdf
    from desktop_app.services import ledger, ledger_types
    from desktop_app.services.settings import load

    with refusing(ledger_types.LedgerError, field="setl_no", code="not_found"):
        rec = ledger.get(d, args.setl_no)
    from desktop_app.services.database import data_dir

    # like the window: receipts/ beside the database unless --out says otherwise
    out = Path(args.out or data_dir(d) / "receipts" / f"{rec.setl_no}_{args.format}.pdf")
    at = None if args.as_issued else datetime.now().strftime("%Y-%m-%d %H:%M:%S")  # a reprint says 补打 and when
    fonts = register_fonts(load(d).get("font_path") or None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render_pdf(receipt_pages(ReceiptData.from_record(rec, reprint_at=at), args.format, fonts), fonts))
    emit({"setl_no": rec.setl_no, "pdf": str(out), "format": args.format, "reprint_at": at}, args.json,
         f"已生成结算单（{'补打 ' + at if at else '原样'}）：{out}")
    return 0


def _month(value: str | None) -> tuple[int, int]:
    try:
        y, mo = (int(x) for x in (value or f"{date.today():%Y-%m}").split("-"))
        date(y, mo, 1)
    except ValueError:
        raise InvalidInput("--month", "月份应为 YYYY-MM") from None
    return y, mo


@signed_in()
def cmd_report(args, d, op) -> int:
    from desktop_app.services import reporting
    from desktop_app.services.database import reports_dir

    folder = reports_dir(d)  # like 日结: reports/ beside the database unless --out says otherwise

    if args.kind == "day":
        day = _day(args.date, "--date")
        from desktop_app.services.closing import day_report_stem

        out = Path(args.out or folder / f"{day_report_stem(d, day)}.{(args.pdf and 'pdf') or 'xlsx'}")
        if args.pdf:
            reporting.day_report_pdf(d, day, out)
        else:
            reporting.day_report_xlsx(d, day, out)
    elif args.kind == "month":
        y, mo = _month(args.month)
        out = Path(args.out or folder / f"月报_{y}{mo:02d}.xlsx")
        if args.export:  # the month's 对账导出 too, from the same read of the month's rows
            res = reporting.month_summary_and_export(d, y, mo, out, args.export).export
            emit({"file": str(out), "export": res}, args.json,
                 f"已生成报表：{out}\n已导出 {y}-{mo:02d}：结算 {res.settlements} 笔，冲正 {res.reversals} 笔\n"
                 + "\n".join(res.files) + f"\n清单：{res.manifest}")
            return 0
        reporting.month_report_xlsx(d, y, mo, out)
    else:
        start, end = _day(args.date_from, "--from"), _day(args.date_to, "--to")
        out = Path(args.out or folder / f"结算明细_{start:%Y%m%d}_{end:%Y%m%d}.xlsx")
        reporting.detail_xlsx(d, start, end, out)
    emit({"file": str(out)}, args.json, f"已生成报表：{out}")
    return 0


@signed_in()
def cmd_export(args, d, op) -> int:
    from desktop_app.services.reporting import export

    start, end = _day(args.date_from, "--from"), _day(args.date_to, "--to")
    with refusing(ValueError, field="--to", code="invalid_input"):
        res = export(d, start, end, args.out)
    emit(res, args.json, f"已导出 {start} 至 {end}：结算 {res.settlements} 笔，冲正 {res.reversals} 笔\n"
         + "\n".join(res.files) + f"\n清单：{res.manifest}")
    return 0


# ---------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------
def _lookup_arguments(p) -> None:
    p.add_argument("query")
    p.add_argument("--first", action="store_true", help="多人匹配时直接显示第一人的详情")
    p.add_argument("--full-id", action="store_true", help="显示完整证件号（仅管理员，记入审计）")
    common_options(p)
    p.set_defaults(func=cmd_lookup)


def _settle_arguments(p) -> None:
    p.add_argument("visit", help="就诊信息 JSON 文件（- 为标准输入），格式见 docs/ledger.md")
    p.add_argument("--token", help="请求令牌：同一令牌重复提交只结算一次")
    p.add_argument("--dry-run", action="store_true", help="预结算，不保存")
    common_options(p)
    p.set_defaults(func=cmd_settle)


def _reverse_arguments(p) -> None:
    p.add_argument("setl_no")
    p.add_argument("--reason", required=True)
    p.add_argument("--token")
    common_options(p)
    p.set_defaults(func=cmd_reverse)


def _day_reopen_arguments(p) -> None:
    p.add_argument("--date", help="营业日（默认今天）")
    p.add_argument("--reason", required=True, help="原因（记入审计，最多 200 字）")
    common_options(p)
    p.set_defaults(func=cmd_day_reopen)


def _day_close_arguments(p) -> None:
    p.add_argument("--date", help="营业日（默认今天）")
    p.add_argument("--out", help="日结单文件夹（默认：数据库旁的 reports/）")
    common_options(p)
    p.set_defaults(func=cmd_day_close)


def _receipt_arguments(p) -> None:
    p.add_argument("setl_no")
    p.add_argument("--format", choices=("A5", "80mm"), default="A5")
    p.add_argument("--out", help="PDF 文件（默认：数据库旁 receipts/<结算单号>_<格式>.pdf）")
    p.add_argument("--as-issued", action="store_true",
                   help="原样生成结算时开具的结算单（逐字节相同，不标“补打”）；默认生成标明补打时间的补打件")
    common_options(p)
    p.set_defaults(func=cmd_receipt)


def _report_arguments(p) -> None:
    p.add_argument("kind", choices=("day", "month", "detail"))
    p.add_argument("--date", help="day：营业日（默认今天）")
    p.add_argument("--month", help="month：YYYY-MM（默认本月）")
    p.add_argument("--from", dest="date_from", help="detail：开始日期")
    p.add_argument("--to", dest="date_to", help="detail：结束日期")
    p.add_argument("--pdf", action="store_true", help="day：输出 PDF 而不是 xlsx")
    p.add_argument("--export", metavar="文件夹", help="month：同时把该月的对账导出写入此文件夹（与 export 相同，只读一次数据）")
    p.add_argument("--out", help="文件（默认：数据库旁的 reports/）")
    common_options(p)
    p.set_defaults(func=cmd_report)


def _export_arguments(p) -> None:
    p.add_argument("--from", dest="date_from", required=True)
    p.add_argument("--to", dest="date_to", required=True)
    p.add_argument("--out", default="export", help="输出文件夹（默认 ./export）")
    common_options(p)
    p.set_defaults(func=cmd_export)


ARGUMENTS = {"lookup": _lookup_arguments, "settle": _settle_arguments, "reverse": _reverse_arguments,
             "day-close": _day_close_arguments, "day-reopen": _day_reopen_arguments, "receipt": _receipt_arguments, "report": _report_arguments,
             "export": _export_arguments}
