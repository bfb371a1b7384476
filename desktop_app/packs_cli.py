"""`clinic-settle packs check DIR...`: validate packs and print their coverage.

The packs named are validated together with the shipped packs (so a county pack
finds its city and province parents); a pack named on the command line replaces
a shipped one with the same id. Exit 0 when valid, 1 when any problem is found.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from desktop_app.core.model import BENEFITS, INSUTYPES
from desktop_app.core.pack_files import load_pack, pack_dirs, shipped_packs_dir
from desktop_app.core.policy import FAR_FUTURE, PackInvalid, PolicySet, coverage


def _fmt_end(d: date) -> str:
    return "长期" if d == FAR_FUTURE else f"{d}（不含）"


def _iso(d: date) -> str | None:
    return None if d == FAR_FUTURE else d.isoformat()


def check(dirs: list[str], *, as_json: bool, out) -> int:
    problems = []
    named = []
    for d in dirs:
        try:
            paths = pack_dirs(Path(d))
        except PackInvalid as exc:
            problems.extend(exc.problems)
            continue
        for p in paths:
            try:
                named.append(load_pack(p))
            except PackInvalid as exc:
                problems.extend(exc.problems)
    policy = None
    if not problems:
        ids = {p.id for p in named}
        base = []
        shipped = shipped_packs_dir()
        if shipped.exists():
            for p in pack_dirs(shipped):
                try:
                    pk = load_pack(p)
                except PackInvalid as exc:
                    problems.extend(exc.problems)
                    continue
                if pk.id not in ids:
                    base.append(pk)
        try:
            policy = PolicySet([*base, *named])
        except PackInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        if as_json:
            out.write(json.dumps({"ok": False, "problems": [
                {"file": p.file, "line": p.line, "message": p.message} for p in problems]},
                ensure_ascii=False, indent=2) + "\n")
        else:
            out.write(f"政策包校验未通过，共 {len(problems)} 处问题：\n")
            for p in problems:
                out.write(f"  {p}\n")
        return 1
    assert policy is not None
    report = []
    for pack in named:
        rows = coverage(policy, pack)
        report.append((pack, rows))
    if as_json:
        out.write(json.dumps({"ok": True, "packs": [
            {"id": pk.id, "name": pk.name, "admdvs": pk.admdvs, "version": pk.version,
             "parent": pk.parent or None, "content_hash": pk.content_hash,
             "documents": [{"number": d.number, "effective": d.effective.isoformat(),
                            "until": _iso(policy.chain_for(pk.admdvs).doc_end[d.number])}
                           for d in pk.documents.values()],
             "coverage": [{"region": r.region, "benefit": r.benefit, "insutype": r.insutype,
                           "disease": r.disease or None, "from": r.start.isoformat(),
                           "until": None if r.end == FAR_FUTURE else r.end.isoformat(),
                           "basis": r.cite, "open_parameters": list(r.open_params)} for r in rows]}
            for pk, rows in report]}, ensure_ascii=False, indent=2) + "\n")
        return 0
    out.write(f"政策包校验通过：{len(named)} 个包。\n")
    for pack, rows in report:
        chain = " → ".join(p.id for p in policy.ancestry(pack))
        out.write(f"\n■ {pack.id}  {pack.name}（医保区划 {pack.admdvs}）版本 {pack.version}\n")
        out.write(f"  上级链：{chain}\n")
        out.write(f"  内容摘要：{pack.content_hash[:16]}\n")
        ends = policy.chain_for(pack.admdvs).doc_end
        for d in pack.documents.values():
            bound = f"（随 {'、'.join(d.bounded_by)}）" if d.bounded_by else ""
            out.write(f"  文件：{d.number}  {d.effective} 起，至 {_fmt_end(ends[d.number])}{bound}\n")
        out.write(f"  覆盖（参保地 {pack.admdvs}，含上级包）：\n")
        if not rows:
            out.write("    （无生效待遇）\n")
        for r in rows:
            dis = f" 病种 {r.disease}" if r.disease else ""
            out.write(f"    {BENEFITS.get(r.benefit, r.benefit)}{dis} · {INSUTYPES.get(r.insutype, r.insutype)}"
                      f"：{r.start} 至 {_fmt_end(r.end)}  [{r.cite}]\n")
            for o in r.open_params:
                out.write(f"      未定参数 {o}\n")
    return 0
