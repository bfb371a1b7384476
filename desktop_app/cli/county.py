"""`clinic-settle county …` — the county centre, on a database (PostgreSQL) that holds every clinic's
settlements: ingest the clinics' reconciliation exports, the monthly report, the cap overruns across clinics,
and the 待遇累计 file that goes back to each clinic (docs/deployment.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path

from desktop_app.cli.common import common_options, emit, refusing, signed_in
from desktop_app.errors import Refused

_STATUS = {"ingested": "已导入", "duplicate": "已导入过（同一清单），未改动", "refused": "拒绝（整批未导入）"}


def cmd_county(args) -> int:
    return {"ingest": _ingest, "report": _report, "overruns": _overruns, "usage": _usage}[args.county_command](args)


@signed_in(supervisor="导入各机构的对账导出")
def _ingest(args, d, op) -> int:
    from desktop_app.services import county

    if not args.paths:
        raise Refused("请给出对账导出的文件夹（或清单文件）", field="EXPORT_DIR", code="invalid_input")
    results = county.ingest(d, args.paths, actor=op.login)
    lines = []
    for r in results:
        lines.append(f"{r.manifest}（机构 {r.clinic}）：{_STATUS[r.status]}"
                     + (f"；{r.rows} 行，新增 {r.added} 笔，已有 {r.already} 笔，冲正关联 {r.linked} 笔"
                        if r.status == "ingested" else ""))
        lines.extend(f"  {p}" for p in r.problems)
    emit({"exports": [asdict(r) for r in results]}, args.json, "\n".join(lines))
    return 1 if any(r.status == "refused" for r in results) else 0


def _month(text: str | None) -> tuple[int, int]:
    try:
        y, mth = map(int, (text or "").split("-"))
        date(y, mth, 1)
        return y, mth
    except ValueError:
        raise Refused(f"--month 须为 YYYY-MM，收到“{text}”", field="--month", code="invalid_input") from None


@signed_in()
def _report(args, d, op) -> int:
    from desktop_app.core.model import benefit_label
    from desktop_app.services import county_reports as cr

    if not args.month:
        raise Refused("county report 需要 --month YYYY-MM", field="--month", code="invalid_input")
    year, month = _month(args.month)
    rows = cr.month_report(d, year, month)
    totals = cr.month_totals(rows)
    labels = "  ".join(cr.REPORT_LABELS.values())
    lines = [f"全县结算月报 {year}年{month}月：{len(totals) - 1} 个机构", f"机构 / 待遇 / 结算 / 冲正 / {labels}"]
    for r in rows:
        lines.append(f"{r.clinic} {benefit_label(r.benefit)} {r.settlements} {r.reversals} "
                     + " ".join(str(r.sums[f]) for f in cr.REPORT_FIELDS))
    t = totals[""]
    lines.append(f"全县合计 {t.settlements} {t.reversals} " + " ".join(str(t.sums[f]) for f in cr.REPORT_FIELDS))
    data = {"month": f"{year:04d}-{month:02d}", "rows": [asdict(r) for r in rows],
            "totals": {k or "county": asdict(v) for k, v in totals.items()}}
    if args.out:
        data["out"] = str(cr.write_month_xlsx(Path(args.out), rows, year, month))
        lines.append(f"已写入 {data['out']}")
    emit(data, args.json, "\n".join(lines))
    return 0


@signed_in()
def _overruns(args, d, op) -> int:
    from desktop_app.core.model import BENEFITS
    from desktop_app.services import county_reports as cr

    res = cr.overruns(d, args.year)
    lines = [f"{res.year} 年：核对 {res.persons_checked} 人，超出限额 {len(res.overruns)} 项"]
    for o in res.overruns:
        lines.append(f"{o.psn_no} {o.name} {BENEFITS.get(o.benefit, o.benefit)}{('/' + o.disease) if o.disease else ''}"
                     f" {o.scope}：统筹已付 {o.paid}，限额 {o.cap}（{o.cite}），超出 {o.over}")
        lines.extend(f"  {x['setl_no']} {x['clinic']} {x['business_date']} 统筹 {x['hifp_pay']}"
                     for x in o.settlements)
    if res.not_in_roster:
        lines.append(f"不在县里的花名册中、无法核对限额的人员 {len(res.not_in_roster)} 人："
                     + "、".join(res.not_in_roster[:20]))
    lines.append(f"说明：{res.note}")
    emit(res, args.json, "\n".join(lines))
    return 0


@signed_in(supervisor="生成待遇累计")
def _usage(args, d, op) -> int:
    from desktop_app.services import county_usage

    for opt, value in (("--clinic", args.clinic), ("--as-of", args.as_of), ("--out", args.out)):
        if not value:
            raise Refused(f"county usage 需要 {opt}", field=opt, code="invalid_input")
    if Path(args.out).suffix.lower() != ".xlsx":  # the file is an xlsx: a .csv name would mislead whoever opens it
        raise Refused(f"--out 须为 .xlsx 文件（待遇累计是 Excel 工作簿），收到“{args.out}”", field="--out",
                      code="invalid_input")
    with refusing(ValueError, field="--as-of", code="invalid_input"):
        as_of = date.fromisoformat(args.as_of)
    if as_of > date.today():
        raise Refused(f"--as-of {as_of} 晚于今天：待遇累计不能截至未来的日期", field="--as-of", code="invalid_input")
    res = county_usage.write_usage(d, args.clinic, as_of, Path(args.out))
    if res.stale and not args.force:
        Path(res.path).unlink(missing_ok=True)
        raise Refused(f"--as-of {as_of} 晚于该机构对账导出覆盖的最后一天：" + res.stale
                      + "。该机构导入这样的文件后，这些结算将不计入年度限额（可能重复支付）；"
                      "如确需生成，请加 --force。", field="--as-of", code="refused")
    text = (f"已生成待遇累计 {res.path}：花名册 {res.persons} 人，待遇累计 {res.usage_rows} 行，截至 {res.as_of}。\n"
            f"在机构 {res.clinic} 导入：clinic-settle import-roster {Path(res.path).name}"
            + (f"\n注意：{res.stale}" if res.stale else ""))
    emit(res, args.json, text)
    return 0


def _county_arguments(p) -> None:
    p.add_argument("county_command", choices=("ingest", "report", "overruns", "usage"))
    p.add_argument("paths", nargs="*", metavar="EXPORT_DIR", help="ingest：对账导出的文件夹或清单文件（可多个）")
    p.add_argument("--month", help="report：月份 YYYY-MM")
    p.add_argument("--out", help="report：月报 .xlsx；usage：待遇累计 .xlsx")
    p.add_argument("--year", type=int, default=date.today().year, help="overruns：年度（默认今年）")
    p.add_argument("--clinic", help="usage：机构编码（文件发往的机构）")
    p.add_argument("--as-of", dest="as_of", help="usage：截至日期 YYYY-MM-DD")
    p.add_argument("--force", action="store_true", help="usage：该机构的对账导出尚未导入到截至日期时也生成")
    common_options(p)
    p.set_defaults(func=cmd_county)


ARGUMENTS = {"county": _county_arguments}
