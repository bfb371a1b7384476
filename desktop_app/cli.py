"""`clinic-settle` — command line entry point.

Subcommands import what they need lazily, so `calc` never loads Qt or SQLAlchemy.
"""

from __future__ import annotations

import argparse
import sys


def _utf8_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):  # pragma: no cover - non-reconfigurable streams
            pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="clinic-settle",
        description="乡镇医保结算台 ClinicSettle：医保结算、试算与政策包工具。",
    )
    p.add_argument("--self-test", action="store_true",
                   help="自检：临时数据库、内置政策包、查找、结算、结算单 PDF、界面（不碰真实数据）")
    sub = p.add_subparsers(dest="command", metavar="命令")

    c = sub.add_parser("calc", help="试算：读入结算请求 JSON，输出结算结果 JSON（不用数据库、不开界面）")
    c.add_argument("claim", nargs="?", default=None, help="结算请求 JSON 文件；省略或 - 表示从标准输入读")
    c.add_argument("--pack", action="append", default=[], metavar="DIR_OR_FILE",
                   help="额外的政策包（文件夹、.zip 或含多个包的文件夹），覆盖在内置政策包之上，可重复")
    c.add_argument("--batch", metavar="IN.jsonl", help="批量试算：每行一个请求")
    c.add_argument("--out", metavar="OUT.jsonl", help="批量结果写入文件（默认标准输出）")

    pk = sub.add_parser("packs", help="政策包工具")
    psub = pk.add_subparsers(dest="packs_command", metavar="子命令")
    chk = psub.add_parser("check", help="校验政策包并列出各待遇的生效日期范围")
    chk.add_argument("dir", nargs="+", help="政策包文件夹、.zip，或含多个包的文件夹")
    chk.add_argument("--json", action="store_true", help="以 JSON 输出")
    kg = psub.add_parser("keygen", help="生成签名密钥对（医保局用；私钥离线保管）")
    kg.add_argument("--out", required=True, help="输出文件夹")
    kg.add_argument("--name", default="bureau")
    sg = psub.add_parser("sign", help="为政策包签名（写入 SIGNATURE.json）")
    sg.add_argument("--key", required=True, help="私钥 PEM 文件")
    sg.add_argument("dir", nargs="+", help="政策包文件夹，或含多个包的文件夹")

    from desktop_app.cli_db import (
        DB_HELP,
        add_backup_commands,
        add_commands,
        add_key_commands,
        add_security_commands,
    )

    add_key_commands(psub, DB_HELP)

    add_commands(sub, DB_HELP)
    add_security_commands(sub, DB_HELP)
    add_backup_commands(sub, DB_HELP)

    g = sub.add_parser("gui", help="打开结算台窗口（默认命令）")
    g.add_argument("--db", default=None, help=DB_HELP)
    st = sub.add_parser("status", help="显示数据库位置、机构、人数和今日结算笔数")
    st.add_argument("--db", default=None, help=DB_HELP)
    return p


def main(argv: list[str] | None = None) -> int:
    _utf8_stdio()
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except Exception as exc:
        if getattr(exc, "code", None) == "database_busy":  # store.db.DatabaseBusy, not imported for `calc`
            from desktop_app.cli_db import fail

            return fail(exc.message, getattr(args, "json", False), EXIT_BUSY, error_code="database_busy", field="db")
        # a bug: the traceback for the report, with any ID number masked (docs/security.md, privacy)
        from desktop_app.privacy import format_exception

        sys.stderr.write(format_exception(exc))
        sys.stderr.write("程序出错（上面是给维护人员的详细信息）。已保存的结算不受影响。\n")
        return EXIT_BUG


EXIT_BUSY = 4  # another program held the database too long; nothing was written, try again
EXIT_BUG = 70  # an unexpected error (EX_SOFTWARE)


def _dispatch(args: argparse.Namespace) -> int:
    if args.self_test:
        from desktop_app.selftest import run

        return run()
    if args.command == "calc":
        from desktop_app.core.calc import run

        return run(args.claim, args.pack, args.batch, args.out, sys.stdin, sys.stdout)
    if args.command == "packs":
        if getattr(args, "func", None) is not None:  # trust / untrust / keys: the clinic's database
            return args.func(args)
        if args.packs_command == "check":
            from desktop_app.packs_cli import check

            return check(args.dir, as_json=args.json, out=sys.stdout)
        if args.packs_command == "keygen":
            from pathlib import Path

            from desktop_app.core.signing import keygen

            priv, pub = keygen(Path(args.out), args.name)
            print(f"私钥（离线保管，不要分发）：{priv}\n公钥（随程序分发到 resources/trusted_keys/）：{pub}")
            return 0
        if args.packs_command == "sign":
            from pathlib import Path

            from desktop_app.core.pack_files import pack_dirs
            from desktop_app.core.policy import PackInvalid
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
        build_parser().parse_args(["packs", "--help"])
        return 2
    if getattr(args, "func", None) is not None:
        return args.func(args)
    if args.command == "status":
        return _status(args.db)
    # default: the window
    try:
        from desktop_app.gui.app import run_gui
    except ImportError as exc:  # Qt missing or broken on this machine: say so, show the status and the commands
        print(f"无法加载图形界面（{exc}）；可以使用命令行：", file=sys.stderr)
        _status(getattr(args, "db", None))
        build_parser().print_help()
        return 1
    return run_gui(getattr(args, "db", None))


def _status(db_arg) -> int:
    """Where the data is and what the clinic has (also shown when the window cannot open)."""
    from desktop_app.services import ledger
    from desktop_app.services.lookup import count_persons
    from desktop_app.services.packs import installed
    from desktop_app.services.settings import load
    from desktop_app.store.db import open_db

    d = open_db(db_arg)
    st = load(d)
    from datetime import date

    today = ledger.list_day(d, date.today())
    print(f"乡镇医保结算台 ClinicSettle — {st.clinic_name}（{st.clinic_code}）")
    print(f"数据库：{d.path or d.url}")
    print(f"参保人员 {count_persons(d)} 人；政策包 {len(installed(d))} 个；今日结算 "
          f"{sum(1 for r in today if r.kind == 'settle')} 笔，冲正 {sum(1 for r in today if r.kind == 'reverse')} 笔。")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
