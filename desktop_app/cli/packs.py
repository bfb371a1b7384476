"""`clinic-settle packs …`: check (validate packs and print their coverage), keygen and sign (the
bureau's signing tools), and trust / untrust / keys (the public keys this clinic's database accepts).

`packs check DIR...`: the packs named are validated together with the shipped packs (so a county pack
finds its city and province parents); a pack named on the command line replaces a shipped one with
the same id. Exit 0 when valid, 1 when any problem is found.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from desktop_app.cli.common import common_options, emit, refusing, signed_in
from desktop_app.core.coverage import coverage
from desktop_app.core.model import BENEFITS, INSUTYPES
from desktop_app.core.pack_files import load_pack, pack_dirs, shipped_packs_dir
from desktop_app.core.policy import FAR_FUTURE, PackInvalid, PolicySet


# ---------------------------------------------------------------------------
# packs check
# ---------------------------------------------------------------------------
def _fmt_end(d: date) -> str:
    return "长期" if d == FAR_FUTURE else f"{d}（不含）"


def _iso(d: date) -> str | None:
    return None if d == FAR_FUTURE else d.isoformat()


def _load_named(dirs: list[str], problems: list) -> list:
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
    return named


def _with_shipped(named: list, problems: list):
    """The named packs over the shipped ones, as one PolicySet (None when a problem was found)."""
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
        return PolicySet([*base, *named])
    except PackInvalid as exc:
        problems.extend(exc.problems)
        return None


def _write_problems(problems: list, as_json: bool, out) -> None:
    if as_json:
        out.write(json.dumps({"ok": False, "problems": [
            {"file": p.file, "line": p.line, "message": p.message} for p in problems]},
            ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(f"政策包校验未通过，共 {len(problems)} 处问题：\n")
        for p in problems:
            out.write(f"  {p}\n")


def _pack_json(policy, pk, rows) -> dict:
    return {"id": pk.id, "name": pk.name, "admdvs": pk.admdvs, "version": pk.version,
            "parent": pk.parent or None, "content_hash": pk.content_hash,
            "documents": [{"number": d.number, "effective": d.effective.isoformat(),
                           "until": _iso(policy.chain_for(pk.admdvs).doc_end[d.number])}
                          for d in pk.documents.values()],
            "coverage": [{"region": r.region, "benefit": r.benefit, "insutype": r.insutype,
                          "disease": r.disease or None, "from": r.start.isoformat(),
                          "until": None if r.end == FAR_FUTURE else r.end.isoformat(),
                          "basis": r.cite, "open_parameters": list(r.open_params),
                          "rules": list(r.rules)} for r in rows]}


def _write_pack_text(policy, pack, rows, out) -> None:
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
        for o in r.rules:
            out.write(f"      范围规则 {o}\n")


def check(dirs: list[str], *, as_json: bool, out) -> int:
    problems: list = []
    named = _load_named(dirs, problems)
    policy = None if problems else _with_shipped(named, problems)
    if problems:
        _write_problems(problems, as_json, out)
        return 1
    assert policy is not None
    report = [(pack, coverage(policy, pack)) for pack in named]
    if as_json:
        out.write(json.dumps({"ok": True, "packs": [_pack_json(policy, pk, rows) for pk, rows in report]},
                             ensure_ascii=False, indent=2) + "\n")
        return 0
    out.write(f"政策包校验通过：{len(named)} 个包。\n")
    for pack, rows in report:
        _write_pack_text(policy, pack, rows, out)
    return 0


def cmd_check(args) -> int:
    return check(args.dir, as_json=args.json, out=sys.stdout)


# ---------------------------------------------------------------------------
# keygen and sign (the bureau's tools; no database)
# ---------------------------------------------------------------------------
def cmd_keygen(args) -> int:
    from desktop_app.core.signing import keygen

    priv, pub = keygen(Path(args.out), args.name)
    print(f"私钥（离线保管，不要分发）：{priv}\n公钥（随程序分发到 resources/trusted_keys/）：{pub}")
    return 0


def cmd_sign(args) -> int:
    from desktop_app.services.packs import sign_pack_dir

    key = Path(args.key).read_bytes()
    try:
        for d in args.dir:
            for p in pack_dirs(Path(d)):
                print(f"已签名：{sign_pack_dir(p, key)}")
    except PackInvalid as exc:
        print("政策包校验未通过，未签名：\n" + "\n".join(f"  {x}" for x in exc.problems), file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------
# trust / untrust / keys: the public keys whose pack signatures this clinic accepts
# ---------------------------------------------------------------------------
@signed_in(supervisor="添加信任的公钥")
def cmd_trust(args, d, op) -> int:
    from desktop_app.services.packs import SyncRefused, trust_key

    with refusing(SyncRefused, field="key"):
        k = trust_key(d, args.key, actor=op.login)
    emit(k, args.json, f"已信任公钥 {k.key_id}（{k.note}）：{k.file}\n此后由该密钥签名的政策包可以导入。")
    return 0


@signed_in(supervisor="移除信任的公钥")
def cmd_untrust(args, d, op) -> int:
    from desktop_app.services.packs import SyncRefused, untrust_key

    with refusing(SyncRefused, field="key_id"):
        untrust_key(d, args.key_id, actor=op.login)
    emit({"key_id": args.key_id}, args.json, f"已不再信任公钥 {args.key_id}。")
    return 0


@signed_in()
def cmd_keys(args, d, op) -> int:
    from desktop_app.services.packs import list_keys

    keys = list_keys(d)
    emit({"keys": [asdict(k) for k in keys]}, args.json, "\n".join(
        f"{k.key_id}  {'信任' if k.trusted else '不信任'}  {k.note}  {k.file}" for k in keys))
    return 0


def _packs_arguments(pk) -> None:
    pk.set_defaults(func=lambda args: _packs_help(pk))
    psub = pk.add_subparsers(dest="packs_command", metavar="子命令")
    chk = psub.add_parser("check", help="校验政策包并列出各待遇的生效日期范围")
    chk.add_argument("dir", nargs="+", help="政策包文件夹、.zip，或含多个包的文件夹")
    chk.add_argument("--json", action="store_true", help="以 JSON 输出")
    chk.set_defaults(func=cmd_check)
    kg = psub.add_parser("keygen", help="生成签名密钥对（医保局用；私钥离线保管）")
    kg.add_argument("--out", required=True, help="输出文件夹")
    kg.add_argument("--name", default="bureau")
    kg.set_defaults(func=cmd_keygen)
    sg = psub.add_parser("sign", help="为政策包签名（写入 SIGNATURE.json）")
    sg.add_argument("--key", required=True, help="私钥 PEM 文件")
    sg.add_argument("dir", nargs="+", help="政策包文件夹，或含多个包的文件夹")
    sg.set_defaults(func=cmd_sign)
    p = psub.add_parser("trust", help="添加信任的公钥（管理员；记入审计）")
    p.add_argument("key", help="医保局的公钥 .pem 文件")
    p.set_defaults(func=cmd_trust)
    q = psub.add_parser("untrust", help="移除本机构添加的信任公钥（管理员；记入审计）")
    q.add_argument("key_id")
    q.set_defaults(func=cmd_untrust)
    r = psub.add_parser("keys", help="列出信任的公钥（随程序发布的和本机构添加的）")
    r.set_defaults(func=cmd_keys)
    for x in (p, q, r):
        common_options(x)


def _packs_help(parser) -> int:
    """`packs` without a subcommand: its help, as `packs --help` prints it."""
    parser.print_help()
    return 0


ARGUMENTS = {"packs": _packs_arguments}
