"""Database-backed `clinic-settle` subcommands: init, sync, import-roster, lookup,
settle, reverse, day-close, demo. Each prints Chinese text, or JSON with --json.

Exit codes: 0 done; 1 refused (a rule said no: not logged in, not a supervisor, day closed,
already reversed…); 2 invalid input (file, field); 3 cannot be settled under the policy;
4 the database was busy (another program writing) — nothing written, try again.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path


def _default(o):
    if isinstance(o, Decimal):
        return str(o)
    if isinstance(o, date | datetime):
        return o.isoformat()
    if is_dataclass(o):
        return asdict(o)
    raise TypeError(type(o))


def emit(obj, as_json: bool, text: str, out=None) -> None:
    out = out or sys.stdout
    if as_json:
        out.write(json.dumps(asdict(obj) if is_dataclass(obj) else obj, ensure_ascii=False, default=_default,
                             indent=2) + "\n")
    else:
        out.write(text.rstrip("\n") + "\n")


def fail(message: str, as_json: bool, code: int, *, error_code: str = "refused", field: str = "", **extra) -> int:
    err = {"code": error_code, "message": message, **({"field": field} if field else {}), **extra}
    if as_json:
        sys.stdout.write(json.dumps({"error": err}, ensure_ascii=False, indent=2) + "\n")
    else:
        where = f"（字段 {field}）" if error_code == "invalid_input" and field and field not in message else ""
        sys.stderr.write(f"错误：{message}{where}\n")
        for p in extra.get("problems", [])[:50]:
            sys.stderr.write(f"  {p}\n")
    return code


def _db(args, *, migrate: bool = True):
    from desktop_app.store.db import open_db

    return open_db(args.db, migrate=migrate)


PASSWORD_ENV = "CLINIC_SETTLE_PASSWORD"
OPERATOR_ENV = "CLINIC_SETTLE_OPERATOR"


class SignInRefused(Exception):
    def __init__(self, message: str, field: str = "operator"):
        super().__init__(message)
        self.message, self.field = message, field


def signin(d, args, *, supervisor: str | None = None, allow_must_change: bool = False, check_only: bool = False):
    """Every command that reads personal data or changes anything acts for a logged-in operator.

    The operator is `--operator` (or CLINIC_SETTLE_OPERATOR); the password is asked for on the
    terminal, or read from CLINIC_SETTLE_PASSWORD (scripts). The login goes through the same
    lockout and audit trail as the window (`via: cli`). `supervisor` names the action a clerk may
    not do. Raises SignInRefused with the message for the user."""
    import getpass
    import os

    from desktop_app.services import accounts

    login = (getattr(args, "operator", None) or os.environ.get(OPERATOR_ENV) or "").strip()
    if not login:
        raise SignInRefused(f"请用 --operator 指定操作员登录名（或设置环境变量 {OPERATOR_ENV}）")
    pw = os.environ.get(PASSWORD_ENV)
    if pw is None:
        if not sys.stdin.isatty():
            raise SignInRefused(f"需要操作员 {login} 的密码：请在终端中运行以便输入，或设置环境变量 {PASSWORD_ENV}",
                                "password")
        pw = getpass.getpass(f"操作员 {login} 的密码：")
    try:
        op = accounts.check_password(d, login, pw) if check_only else accounts.login(d, login, pw, via="cli")
    except accounts.AuthError as exc:
        raise SignInRefused(str(exc), "password") from None
    args.operator_login = op.login
    if op.must_change_password and not allow_must_change:
        raise SignInRefused(f"操作员 {login} 须先修改密码：clinic-settle user passwd {login} --operator {login}"
                            "（或在窗口中登录修改）", "password")
    if supervisor and op.role != "supervisor":
        raise SignInRefused(f"只有管理员可以{supervisor}（{login} 是{accounts.ROLES.get(op.role, op.role)}）")
    return op


def signed_in(supervisor: str | None = None):
    """Decorator: sign in first (see `signin`); the command receives the operator as `op`."""
    import functools

    def wrap(cmd):
        @functools.wraps(cmd)
        def run(args) -> int:
            d = _db(args)
            try:
                op = signin(d, args, supervisor=supervisor)
            except SignInRefused as exc:
                return fail(exc.message, getattr(args, "json", False), 1, error_code="not_authorised",
                            field=exc.field)
            return cmd(args, d, op)

        return run

    return wrap


def cmd_init(args) -> int:
    from desktop_app.services import accounts
    from desktop_app.store.db import Database

    d = Database(args.db)
    before, after = d.upgrade()
    where = d.path or d.url
    if before == after:
        text = f"数据库已是最新结构（版本 {after}）：{where}"
    elif before is None:
        text = f"已创建数据库（版本 {after}）：{where}"
    else:
        text = f"已把数据库从版本 {before} 升级到 {after}：{where}"
    data = {"db": str(where), "from": before, "to": after}
    if args.supervisor:
        try:
            initial = accounts.create_first_supervisor(d, args.supervisor)
        except (accounts.AuthError, ValueError) as exc:
            return fail(str(exc), args.json, 1, error_code="refused", field="--supervisor")
        data["supervisor"] = {"login": args.supervisor, "initial_password": initial}
        text += (f"\n已创建管理员 {args.supervisor}，初始密码：{initial}\n"
                 "（只显示这一次；首次登录——窗口或命令行——须改为自己的密码）")
    elif not accounts.has_operators(d):
        text += ("\n还没有操作员：首次打开窗口时可建立本机构的管理员（或生成演示数据），"
                 "或运行 clinic-settle init --supervisor admin。")
    emit(data, args.json, text)
    return 0


@signed_in(supervisor="导入政策包")
def cmd_sync(args, d, op) -> int:
    from desktop_app.services.packs import SyncRefused, sync

    try:
        results = sync(d, args.pack, force=args.force, allow_unsigned=args.allow_unsigned, actor=op.login)
    except SyncRefused as exc:
        return fail(exc.message, args.json, 2 if exc.problems else 1,
                    error_code="invalid_pack" if exc.problems else "refused", problems=exc.problems)
    labels = {"loaded": "已加载", "unchanged": "未变化", "upgraded": "已升级", "replaced": "已替换"}
    lines = [f"{r.pack_id}（{r.name}）版本 {r.version}：{labels[r.status]}"
             + (f"（原版本 {r.previous_version}）" if r.status in ("upgraded", "replaced") else "")
             for r in results]
    emit({"packs": [asdict(r) for r in results]}, args.json, "\n".join(lines))
    return 0


@signed_in(supervisor="导入花名册")
def cmd_import_roster(args, d, op) -> int:
    from desktop_app.services.roster import RosterError, import_roster

    try:
        r = import_roster(d, args.file, usage_path=args.usage, actor=op.login)
    except RosterError as exc:
        return fail(str(exc), args.json, 2, error_code="invalid_input", field="file")
    text = (f"花名册 {Path(r.path).name}：共 {r.rows} 行，新增 {r.inserted} 人，更新 {r.updated} 人，"
            f"拒绝 {r.rejected} 行。")
    if r.usage_rows:
        text += f"\n待遇累计：共 {r.usage_rows} 行，拒绝 {r.usage_rejected} 行。"
    if r.encoding_note:
        text += f"\n注意：{r.encoding_note}。"
    if r.report_path:
        text += f"\n错误报告：{r.report_path}"
    data = asdict(r)
    data["errors"] = data["errors"][:200]
    emit(data, args.json, text)
    return 0


def _fmt_money(v) -> str:
    return "未定" if v is None else f"{v}"


@signed_in()
def cmd_lookup(args, d, op) -> int:
    from desktop_app.services.lookup import search, summary

    hits = search(d, args.query)
    if not hits:
        return fail(f"没有找到与“{args.query}”匹配的参保人", args.json, 1, error_code="not_found")
    if len(hits) > 1 and not args.first:
        lines = [f"找到 {len(hits)} 人（最多显示 50 人）："]
        for h in hits:
            lines.append(f"  {h.psn_no}  {h.name}  {h.gender}  {h.birth_date}  {h.id_masked}  [{h.matched_by}]")
        emit({"hits": [asdict(h) for h in hits]}, args.json, "\n".join(lines))
        return 0
    s = summary(d, hits[0].psn_no)
    lines = [
        f"{s.name}（{s.gender}，{s.age}岁）  人员编号 {s.psn_no}  身份证号 {s.id_masked}",
        f"{s.insutype_label} · {s.category_label} · 参保地 {s.admdvs} {s.region}",
        f"家庭医生签约：{s.family_doctor_at or '无'}；登记病种："
        + ("、".join(f"{c} {n}" for c, n in s.registered_diseases) or "无"),
        f"个人账户余额 {s.acct_balance} 元；中心数据截至 {s.as_of}",
    ]
    for b in s.benefits:
        dis = f"（{b.disease}）" if b.disease else ""
        cap = (f"年度限额 {_fmt_money(b.annual_cap)}，剩余 {_fmt_money(b.annual_remaining)}"
               if b.annual_cap is not None else b.cap_note)
        q = (f"；第{b.quarter}季度已付 {b.quarter_paid}，季度限额 {b.quarterly_cap}，剩余 {b.quarterly_remaining}"
             if b.quarterly_cap is not None else "")
        lines.append(f"  {b.benefit_label}{dis}：本年统筹已支付 {b.fund_paid}；{cap}{q}")
    emit(s, args.json, "\n".join(lines))
    return 0


def _visit_from_json(path: str):
    from desktop_app.core.claim_io import InvalidInput
    from desktop_app.core.money import parse_decimal
    from desktop_app.services.ledger import ItemInput, VisitInput

    raw = json.loads(Path(path).read_text(encoding="utf-8-sig")) if path != "-" else json.loads(sys.stdin.read())
    if not isinstance(raw, dict):
        raise InvalidInput("(根)", "就诊信息须为 JSON 对象")
    allowed = {"psn_no", "date", "benefit", "disease", "delivery", "use_account", "family_account",
               "institution", "items", "diagnosis"}
    for k in raw:
        if k not in allowed:
            raise InvalidInput(k, f"未知字段“{k}”")
    for k in ("psn_no", "benefit", "items"):
        if not raw.get(k):
            raise InvalidInput(k, f"缺少必填字段 {k}")
    items = []
    for i, it in enumerate(raw["items"]):
        if not isinstance(it, dict) or "code" not in it or "qty" not in it:
            raise InvalidInput(f"items[{i}]", "每条明细至少要有 code 和 qty")
        for f in ("qty", "price", "pay_std"):
            if it.get(f) is not None:
                try:
                    parse_decimal(str(it[f]) if not isinstance(it[f], str) else it[f])
                except ValueError:
                    raise InvalidInput(f"items[{i}].{f}", f"{f} 须为数字") from None
        items.append(ItemInput(code=str(it["code"]), qty=str(it["qty"]),
                               price=None if it.get("price") is None else str(it["price"]),
                               name=it.get("name"), kind=it.get("kind"), chrgitm_lv=it.get("chrgitm_lv"),
                               pay_std=None if it.get("pay_std") is None else str(it["pay_std"])))
    try:
        day = date.fromisoformat(raw["date"]) if raw.get("date") else date.today()
    except (TypeError, ValueError):
        raise InvalidInput("date", f"就诊日期“{raw.get('date')}”不是有效日期") from None
    return VisitInput(psn_no=str(raw["psn_no"]), date=day, benefit=raw["benefit"], items=items,
                      disease=raw.get("disease"), delivery=raw.get("delivery"),
                      use_account=raw.get("use_account", True), family_account=raw.get("family_account"),
                      institution=raw.get("institution"), diagnosis=raw.get("diagnosis"))


def _ledger_exit(exc) -> int:
    return {"invalid_input": 2, "no_policy_in_force": 3, "policy_parameter_missing": 3}.get(exc.code, 1)


def _rec_json(rec) -> dict:
    d = asdict(rec)
    d["claim"] = json.loads(d.pop("claim_json"))
    return d


def _settlement_text(rec) -> str:
    r = rec.result
    head = "冲正" if rec.kind == "reverse" else "结算"
    lines = [f"{head}单号 {rec.setl_no}" + ("（重复请求，返回首次结果）" if rec.replayed else ""),
             f"参保人 {rec.person_name}（{rec.psn_no}）  就诊日期 {rec.visit_date}  操作员 {rec.operator}"]
    if rec.original_setl_no:
        lines.append(f"原结算单号 {rec.original_setl_no}；原因：{rec.reason}")
    lines.append(f"医疗费总额 {r['medfee_sumamt']}  统筹基金 {r['hifp_pay']}  大病/大额 "
                 f"{Decimal(r['hifmi_pay']) + Decimal(r['hifob_pay'])}  个人账户 {r['acct_pay']}  "
                 f"家庭共济 {r['acct_mulaid_pay']}  现金 {r['psn_cash_pay']}")
    for n in r.get("notices", []):
        lines.append(f"  提示：{n['message']}")
    return "\n".join(lines)


@signed_in()
def cmd_settle(args, d, op) -> int:
    from desktop_app.core.claim_io import InvalidInput
    from desktop_app.services import ledger

    try:
        visit = _visit_from_json(args.visit)
    except InvalidInput as exc:
        return fail(exc.message, args.json, 2, error_code="invalid_input", field=exc.field)
    except (OSError, json.JSONDecodeError) as exc:
        return fail(f"无法读取就诊信息：{exc}", args.json, 2, error_code="invalid_input", field="visit")
    try:
        if args.dry_run:
            pv = ledger.presettle(d, visit)
            r = pv.result
            text = "预结算（未保存）\n" + "\n".join(f"  {k}: {r[k]}" for k in r if isinstance(r[k], str))
            for t in r["trace"]:
                text += f"\n  依据 {t['step']} = {t['value']}：{t.get('label', '')}（{t['basis']}）"
            emit(r, args.json, text)
            return 0
        rec = ledger.settle(d, visit, token=args.token, operator=op.login)
    except ledger.LedgerError as exc:
        return fail(exc.message, args.json, _ledger_exit(exc), error_code=exc.code, field=exc.field)
    emit(_rec_json(rec), args.json, _settlement_text(rec))
    return 0


@signed_in()
def cmd_reverse(args, d, op) -> int:
    from desktop_app.services import ledger

    try:
        rec = ledger.reverse(d, args.setl_no, reason=args.reason, operator=op.login, token=args.token)
    except ledger.LedgerError as exc:
        return fail(exc.message, args.json, _ledger_exit(exc), error_code=exc.code, field=exc.field)
    emit(_rec_json(rec), args.json, _settlement_text(rec))
    return 0


@signed_in()
def cmd_day_close(args, d, op) -> int:
    """日结 as in the window: close the day, back it up (verified), write the 日结单 (xlsx and PDF)."""
    from desktop_app.services import closing, database, ledger

    try:
        day = date.fromisoformat(args.date) if args.date else None
    except ValueError:
        return fail(f"日期“{args.date}”无效", args.json, 2, error_code="invalid_input", field="date")
    try:
        out = closing.close_day(d, operator=op.login, day=day, folder=Path(args.out) if args.out
                                else database.reports_dir(d))
    except ledger.LedgerError as exc:
        return fail(exc.message, args.json, _ledger_exit(exc), error_code=exc.code, field=exc.field)
    except database.BackupError as exc:
        return fail(f"已日结，但备份未完成，日结单未生成：{exc}", args.json, 1, error_code="backup_failed")
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


def cmd_demo(args) -> int:
    from desktop_app.services.demo import create_demo

    d = _db(args)
    if args.if_empty:
        from desktop_app.services.accounts import has_operators
        from desktop_app.services.lookup import count_persons

        n = count_persons(d)
        if n or has_operators(d):
            emit({"db": str(d.path or d.url), "persons": n, "created": False}, args.json,
                 f"数据库已在使用（{n} 名参保人），未生成演示数据：{d.path or d.url}")
            return 0
    try:
        r = create_demo(d, persons=args.persons)
    except ValueError as exc:
        return fail(str(exc), args.json, 1)
    text = (f"已生成演示数据：{r.persons} 名参保人，{r.packs} 个政策包，机构 {r.clinic_code}。\n"
            f"数据库：{r.db_path}\n操作员：admin / admin123（管理员），clerk / clerk123（收费员）")
    emit(r, args.json, text)
    return 0


def _day(value: str | None, field: str) -> date:
    from desktop_app.core.claim_io import InvalidInput

    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"日期“{value}”无效，应为 YYYY-MM-DD") from None


@signed_in()
def cmd_receipt(args, d, op) -> int:
    from datetime import datetime

    from desktop_app.reports.fonts import register_fonts
    from desktop_app.reports.receipt import ReceiptData, receipt_pages, render_pdf
    from desktop_app.services import ledger

    try:
        rec = ledger.get(d, args.setl_no)
    except ledger.LedgerError as exc:
        return fail(exc.message, args.json, 1, error_code="not_found", field="setl_no")
    from desktop_app.services.settings import load

    out = Path(args.out or f"{rec.setl_no}_{args.format}.pdf")
    at = None if args.as_issued else datetime.now().strftime("%Y-%m-%d %H:%M:%S")  # a reprint says 补打 and when
    fonts = register_fonts(load(d).get("font_path") or None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render_pdf(receipt_pages(ReceiptData.from_record(rec, reprint_at=at), args.format, fonts), fonts))
    emit({"setl_no": rec.setl_no, "pdf": str(out), "format": args.format, "reprint_at": at}, args.json,
         f"已生成结算单（{'补打 ' + at if at else '原样'}）：{out}")
    return 0


@signed_in()
def cmd_report(args, d, op) -> int:
    from desktop_app.core.claim_io import InvalidInput
    from desktop_app.services import reporting

    try:
        if args.kind == "day":
            day = _day(args.date, "--date")
            out = Path(args.out or f"日结单_{day:%Y%m%d}.{(args.pdf and 'pdf') or 'xlsx'}")
            if args.pdf:
                reporting.day_report_pdf(d, day, out)
            else:
                reporting.day_report_xlsx(d, day, out)
        elif args.kind == "month":
            y, mo = (int(x) for x in (args.month or f"{date.today():%Y-%m}").split("-"))
            out = Path(args.out or f"月报_{y}{mo:02d}.xlsx")
            reporting.month_report_xlsx(d, y, mo, out)
        else:
            start, end = _day(args.date_from, "--from"), _day(args.date_to, "--to")
            out = Path(args.out or f"结算明细_{start:%Y%m%d}_{end:%Y%m%d}.xlsx")
            reporting.detail_xlsx(d, start, end, out)
    except InvalidInput as exc:
        return fail(exc.message, args.json, 2, error_code="invalid_input", field=exc.field)
    except ValueError:
        return fail("月份应为 YYYY-MM", args.json, 2, error_code="invalid_input", field="--month")
    emit({"file": str(out)}, args.json, f"已生成报表：{out}")
    return 0


@signed_in()
def cmd_export(args, d, op) -> int:
    from desktop_app.core.claim_io import InvalidInput
    from desktop_app.services.reporting import export

    try:
        start, end = _day(args.date_from, "--from"), _day(args.date_to, "--to")
        res = export(d, start, end, args.out)
    except InvalidInput as exc:
        return fail(exc.message, args.json, 2, error_code="invalid_input", field=exc.field)
    except ValueError as exc:
        return fail(str(exc), args.json, 2, error_code="invalid_input", field="--to")
    emit(res, args.json, f"已导出 {start} 至 {end}：结算 {res.settlements} 笔，冲正 {res.reversals} 笔\n"
         + "\n".join(res.files) + f"\n清单：{res.manifest}")
    return 0


OPERATOR_HELP = (f"操作员登录名（或环境变量 {OPERATOR_ENV}）；密码在终端提示输入，脚本中可用环境变量 {PASSWORD_ENV}")


def common_options(p, db_help: str, *, operator: bool = True) -> None:
    """--db and --json on every database command; --operator on those that sign in."""
    p.add_argument("--db", default=None, help=db_help)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    if operator:
        p.add_argument("--operator", help=OPERATOR_HELP)


def add_commands(sub, db_help: str) -> None:

    p = sub.add_parser("init", help="创建或升级数据库；--supervisor 在空数据库中创建首个管理员")
    p.add_argument("--supervisor", metavar="LOGIN",
                   help="创建首个管理员（仅当还没有任何操作员），显示一次性初始密码，首次登录须修改")
    common_options(p, db_help, operator=False)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("sync", help="把政策包（文件夹或 .zip）同步进数据库")
    p.add_argument("pack", help="政策包文件夹、.zip，或含多个包的文件夹")
    p.add_argument("--force", action="store_true", help="允许回退到较旧版本或替换同版本")
    p.add_argument("--allow-unsigned", action="store_true", help="接受未签名的测试包（记入审计）")
    common_options(p, db_help)
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("import-roster", help="导入花名册（.xlsx 或 .csv）")
    p.add_argument("file")
    p.add_argument("--usage", help="待遇累计单独的文件（.csv/.xlsx）；xlsx 花名册可放在第二个工作表")
    common_options(p, db_help)
    p.set_defaults(func=cmd_import_roster)

    p = sub.add_parser("lookup", help="查找参保人：身份证号、人员编号、扫码内容、姓名或拼音")
    p.add_argument("query")
    p.add_argument("--first", action="store_true", help="多人匹配时直接显示第一人的详情")
    common_options(p, db_help)
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("settle", help="结算一次就诊（--dry-run 只预结算）")
    p.add_argument("visit", help="就诊信息 JSON 文件（- 为标准输入），格式见 docs/ledger.md")
    p.add_argument("--token", help="请求令牌：同一令牌重复提交只结算一次")
    p.add_argument("--dry-run", action="store_true", help="预结算，不保存")
    common_options(p, db_help)
    p.set_defaults(func=cmd_settle)

    p = sub.add_parser("reverse", help="冲正一笔结算")
    p.add_argument("setl_no")
    p.add_argument("--reason", required=True)
    p.add_argument("--token")
    common_options(p, db_help)
    p.set_defaults(func=cmd_reverse)

    p = sub.add_parser("day-close", help="日结")
    p.add_argument("--date", help="营业日（默认今天）")
    p.add_argument("--out", help="日结单文件夹（默认：数据库旁的 reports/）")
    common_options(p, db_help)
    p.set_defaults(func=cmd_day_close)

    p = sub.add_parser("receipt", help="生成（补打）结算单 PDF")
    p.add_argument("setl_no")
    p.add_argument("--format", choices=("A5", "80mm"), default="A5")
    p.add_argument("--out", help="PDF 文件（默认：<结算单号>_<格式>.pdf）")
    p.add_argument("--as-issued", action="store_true",
                   help="原样生成结算时开具的结算单（逐字节相同，不标“补打”）；默认生成标明补打时间的补打件")
    common_options(p, db_help)
    p.set_defaults(func=cmd_receipt)

    p = sub.add_parser("report", help="报表：day 日结单、month 月度汇总、detail 结算明细")
    p.add_argument("kind", choices=("day", "month", "detail"))
    p.add_argument("--date", help="day：营业日（默认今天）")
    p.add_argument("--month", help="month：YYYY-MM（默认本月）")
    p.add_argument("--from", dest="date_from", help="detail：开始日期")
    p.add_argument("--to", dest="date_to", help="detail：结束日期")
    p.add_argument("--pdf", action="store_true", help="day：输出 PDF 而不是 xlsx")
    p.add_argument("--out")
    common_options(p, db_help)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="对账导出：JSON Lines + xlsx + 清单（SHA-256）")
    p.add_argument("--from", dest="date_from", required=True)
    p.add_argument("--to", dest="date_to", required=True)
    p.add_argument("--out", default="export", help="输出文件夹（默认 ./export）")
    common_options(p, db_help)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="在空数据库中生成演示数据")
    p.add_argument("--persons", type=int, default=500)
    p.add_argument("--if-empty", action="store_true", help="数据库已有参保人时什么也不做（make run 使用）")
    common_options(p, db_help, operator=False)
    p.set_defaults(func=cmd_demo)


DB_HELP = "数据库文件（默认：环境变量 CLINIC_SETTLE_DB，否则用户数据目录下的 ClinicSettle/clinic-settle.sqlite3）"


# ---------------------------------------------------------------------------
# audit and accounts
# ---------------------------------------------------------------------------
@signed_in(supervisor="查看和校验审计记录")
def cmd_audit(args, d, op) -> int:
    from desktop_app.services import audit

    if args.audit_command == "verify":
        r = audit.verify(d)
        data = {"ok": r.ok, "entries": r.entries, "settlements": r.settlements,
                "problems": [asdict(p) for p in r.problems]}
        if r.ok:
            emit(data, args.json, f"审计链完整：{r.entries} 条审计记录，{r.settlements} 笔结算与记录一致。")
            return 0
        emit(data, args.json, "审计校验发现问题：\n" + "\n".join(f"  {p.message}" for p in r.problems))
        return 1
    rows = audit.recent(d, args.limit)
    emit({"entries": [asdict(e) for e in rows]}, args.json, "\n".join(
        f"{e.id:>6}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<10} {e.action:<14} {e.subject}" for e in rows))
    return 0


def _new_password(args) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    a = getpass.getpass("新密码：")
    if getpass.getpass("再输一次：") != a:
        from desktop_app.services.accounts import AuthError

        raise AuthError("两次输入的密码不一致")
    return a


def cmd_user(args) -> int:
    import os

    from desktop_app.services import accounts

    d = _db(args)
    me = (args.operator or os.environ.get(OPERATOR_ENV) or "").strip()
    own = args.user_command == "passwd" and (not args.login or args.login == me)
    try:
        # changing one's own password is open to every operator (and is how a forced change is done);
        # everything else here is a supervisor's
        op = signin(d, args, supervisor=None if own else "管理操作员账户", allow_must_change=own)
    except SignInRefused as exc:
        return fail(exc.message, args.json, 1, error_code="not_authorised", field=exc.field)
    try:
        if args.user_command == "list":
            ops = accounts.list_operators(d)
            emit({"operators": [asdict(o) for o in ops]}, args.json, "\n".join(
                f"{o.login:<12} {o.name:<10} {accounts.ROLES.get(o.role, o.role)}"
                f"{'' if o.active else '（已停用）'}{'（须改密码）' if o.must_change_password else ''}" for o in ops))
            return 0
        if not args.login and not own:
            return fail("请给出操作员登录名", args.json, 2, error_code="invalid_input", field="login")
        if args.user_command == "add":
            pw = _new_password(args)
            info = accounts.create_operator(d, args.login, args.name or args.login, args.role, pw, must_change=True,
                                            actor=op.login)
            emit(asdict(info), args.json, f"已添加操作员 {info.login}（{accounts.ROLES[info.role]}），首次登录须修改密码。")
        elif args.user_command == "passwd":
            target = args.login or op.login
            accounts.change_password(d, target, _new_password(args), actor=op.login)
            emit({"login": target}, args.json, f"已修改 {target} 的密码。" if own else
                 f"已重设 {target} 的密码；{target} 下次登录须修改密码。")
        else:
            accounts.set_active(d, args.login, args.user_command == "enable", actor=op.login)
            emit({"login": args.login}, args.json,
                 f"已{'启用' if args.user_command == 'enable' else '停用'}操作员 {args.login}。")
    except accounts.AuthError as exc:
        return fail(str(exc), args.json, 1, error_code="refused")
    except ValueError as exc:
        return fail(str(exc), args.json, 2, error_code="invalid_input")
    return 0


def add_security_commands(sub, db_help: str) -> None:
    p = sub.add_parser("audit", help="审计：verify 校验审计链和结算金额；list 最近的记录")
    p.add_argument("audit_command", choices=("verify", "list"))
    p.add_argument("--limit", type=int, default=50)
    common_options(p, db_help)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("user", help="操作员账户：list / add / passwd / disable / enable（管理员）")
    p.add_argument("user_command", choices=("list", "add", "passwd", "disable", "enable"))
    p.add_argument("login", nargs="?", default="")
    p.add_argument("--name", help="add：姓名")
    p.add_argument("--role", choices=("clerk", "supervisor"), default="clerk")
    p.add_argument("--password-stdin", action="store_true", help="新密码从标准输入读一行")
    common_options(p, db_help)
    p.set_defaults(func=cmd_user)


@signed_in(supervisor="备份数据库")
def cmd_backup(args, d, op) -> int:
    from desktop_app.store import backup as bk

    try:
        info = bk.backup(d, Path(args.to) if args.to else None)
    except bk.BackupError as exc:
        return fail(str(exc), args.json, 1)
    emit(info, args.json, f"已备份（已校验）：{info.path}（{info.size / 1e6:.1f} MB）")
    return 0


def cmd_restore(args) -> int:
    """Restore is a supervisor's act, checked against the backup being restored (the current database may
    be the damaged one), without writing to it; the restored database then records who restored what."""
    from desktop_app.services import database
    from desktop_app.store.db import Database

    target = database.locate(args.db)
    if target is None:
        return fail("只有 SQLite 数据库可以用本功能恢复", args.json, 2, error_code="invalid_input")
    if not args.yes:
        return fail(f"恢复会用备份替换 {target}（原文件会保留为 *.before-restore-*）。确认请加 --yes。", args.json, 1)
    src = Path(args.file)
    state = database.check(src) if src.is_file() else "找不到文件"
    if state != "ok":
        return fail(f"备份文件 {src.name} 校验未通过，未恢复：{state}", args.json, 2, error_code="invalid_input",
                    field="file")
    snapshot = Database(src)
    try:
        signin(snapshot, args, supervisor="恢复数据库", check_only=True)
    except SignInRefused as exc:
        return fail(exc.message, args.json, 1, error_code="not_authorised", field=exc.field)
    finally:
        snapshot.dispose()
    try:  # checked above, before the sign-in
        kept = database.restore(target, src, actor=args.operator_login, via="cli", verified=True).kept
    except database.BackupError as exc:
        return fail(str(exc), args.json, 2, error_code="invalid_input", field="file")
    emit({"restored": str(target), "previous_kept_as": str(kept)}, args.json,
         f"已从 {args.file} 恢复到 {target}；原文件保留为 {kept}")
    return 0


def add_backup_commands(sub, db_help: str) -> None:
    p = sub.add_parser("backup", help="备份数据库（SQLite 在线备份，校验后保存，保留最近30份）")
    p.add_argument("--to", help="备份文件夹（默认：数据库旁的 backups/）")
    common_options(p, db_help)
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="从备份恢复（管理员，按备份中的账户核对密码；先校验备份；程序须已关闭）")
    p.add_argument("file")
    p.add_argument("--yes", action="store_true", help="确认替换当前数据库")
    common_options(p, db_help)
    p.set_defaults(func=cmd_restore)


@signed_in(supervisor="添加信任的公钥")
def cmd_packs_trust(args, d, op) -> int:
    from desktop_app.services.packs import SyncRefused, trust_key

    try:
        k = trust_key(d, args.key, actor=op.login)
    except SyncRefused as exc:
        return fail(exc.message, args.json, 1, error_code="refused", field="key")
    emit(k, args.json, f"已信任公钥 {k.key_id}（{k.note}）：{k.file}\n此后由该密钥签名的政策包可以导入。")
    return 0


@signed_in(supervisor="移除信任的公钥")
def cmd_packs_untrust(args, d, op) -> int:
    from desktop_app.services.packs import SyncRefused, untrust_key

    try:
        untrust_key(d, args.key_id, actor=op.login)
    except SyncRefused as exc:
        return fail(exc.message, args.json, 1, error_code="refused", field="key_id")
    emit({"key_id": args.key_id}, args.json, f"已不再信任公钥 {args.key_id}。")
    return 0


@signed_in()
def cmd_packs_keys(args, d, op) -> int:
    from desktop_app.services.packs import list_keys

    keys = list_keys(d)
    emit({"keys": [asdict(k) for k in keys]}, args.json, "\n".join(
        f"{k.key_id}  {'信任' if k.trusted else '不信任'}  {k.note}  {k.file}" for k in keys))
    return 0


def add_key_commands(psub, db_help: str) -> None:
    """`packs trust|untrust|keys`: the public keys whose pack signatures this clinic accepts."""
    p = psub.add_parser("trust", help="添加信任的公钥（管理员；记入审计）")
    p.add_argument("key", help="医保局的公钥 .pem 文件")
    p.set_defaults(func=cmd_packs_trust)
    q = psub.add_parser("untrust", help="移除本机构添加的信任公钥（管理员；记入审计）")
    q.add_argument("key_id")
    q.set_defaults(func=cmd_packs_untrust)
    r = psub.add_parser("keys", help="列出信任的公钥（随程序发布的和本机构添加的）")
    r.set_defaults(func=cmd_packs_keys)
    for x in (p, q, r):
        common_options(x, db_help)
