"""The database and the clinic: init, demo, status, gui, sync, import-roster, audit, user, backup, restore.

Each prints Chinese text (or JSON with --json) and raises a `Refused` when a rule says no;
`desktop_app.cli.main` reports it with the exit code of `desktop_app.errors`.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

from desktop_app.cli.common import (
    common_options,
    emit,
    open_database,
    operator_named,
    refusing,
    require_database,
    signed_in,
    signin,
)
from desktop_app.errors import EXIT_REFUSED, Refused


# ---------------------------------------------------------------------------
# init, demo, status, gui
# ---------------------------------------------------------------------------
def cmd_init(args) -> int:
    from desktop_app.services import accounts
    from desktop_app.services.database import shown_url
    from desktop_app.store.db import Database

    d = Database(args.db)
    before, after = d.upgrade()
    where = shown_url(d.path or d.url)  # a server URL without its password
    if before == after:
        text = f"数据库已是最新结构（版本 {after}）：{where}"
    elif before is None:
        text = f"已创建数据库（版本 {after}）：{where}"
    else:
        text = f"已把数据库从版本 {before} 升级到 {after}：{where}"
    data = {"db": str(where), "from": before, "to": after}
    if args.supervisor:
        with refusing(accounts.AuthError, ValueError, field="--supervisor"):
            initial = accounts.create_first_supervisor(d, args.supervisor)
        data["supervisor"] = {"login": args.supervisor, "initial_password": initial}
        text += (f"\n已创建管理员 {args.supervisor}，初始密码：{initial}\n"
                 "（只显示这一次；首次登录——窗口或命令行——须改为自己的密码）")
    elif not accounts.has_operators(d):
        text += ("\n还没有操作员：首次打开窗口时可建立本机构的管理员（或生成演示数据），"
                 "或运行 clinic-settle init --supervisor admin。")
    emit(data, args.json, text)
    return 0


def cmd_demo(args) -> int:
    from desktop_app.services.database import shown_url
    from desktop_app.services.demo import create_demo

    d = open_database(args, must_exist=False)
    if args.if_empty:
        from desktop_app.services.accounts import has_operators
        from desktop_app.services.lookup import count_persons

        n = count_persons(d)
        if n or has_operators(d):
            where = shown_url(d.path or d.url)
            emit({"db": where, "persons": n, "created": False}, args.json,
                 f"数据库已在使用（{n} 名参保人），未生成演示数据：{where}")
            return 0
    with refusing(ValueError):
        r = create_demo(d, persons=args.persons)
    text = (f"已生成演示数据：{r.persons} 名参保人，{r.packs} 个政策包，机构 {r.clinic_code}。\n"
            f"数据库：{r.db_path}\n操作员：admin / admin123（管理员），clerk / clerk123（收费员）")
    emit(r, args.json, text)
    return 0


def show_status(db_arg) -> int:
    """Where the data is and what the clinic has (also shown when the window cannot open)."""
    from datetime import date

    from desktop_app.services import days
    from desktop_app.services.database import shown_url
    from desktop_app.services.lookup import count_persons
    from desktop_app.services.packs import installed
    from desktop_app.services.settings import load
    from desktop_app.store.db import open_db

    require_database(db_arg)
    d = open_db(db_arg)
    st = load(d)
    today = days.list_day(d, date.today())
    print(f"乡镇医保结算台 ClinicSettle — {st.clinic_name}（{st.clinic_code}）")
    print(f"数据库：{shown_url(d.path or d.url)}")
    print(f"参保人员 {count_persons(d)} 人；政策包 {len(installed(d))} 个；今日结算 "
          f"{sum(1 for r in today if r.kind == 'settle')} 笔，冲正 {sum(1 for r in today if r.kind == 'reverse')} 笔。")
    return 0


def cmd_status(args) -> int:
    return show_status(args.db)


def cmd_gui(args) -> int:
    """The default command: the window."""
    try:
        from desktop_app.gui.app import run_gui
    except ImportError as exc:  # Qt missing or broken on this machine: say so, show the status and the commands
        from desktop_app.cli.main import build_parser

        print(f"无法加载图形界面（{exc}）；可以使用命令行：", file=sys.stderr)
        show_status(getattr(args, "db", None))
        build_parser(None).print_help()
        return EXIT_REFUSED
    return run_gui(getattr(args, "db", None))


# ---------------------------------------------------------------------------
# sync, import-roster
# ---------------------------------------------------------------------------
@signed_in(supervisor="导入政策包")
def cmd_sync(args, d, op) -> int:
    from desktop_app.services.packs import SYNC_STATUS_LABELS as labels
    from desktop_app.services.packs import sync

    results = sync(d, args.pack, force=args.force, allow_unsigned=args.allow_unsigned, actor=op.login)
    lines = [f"{r.pack_id}（{r.name}）版本 {r.version}：{labels[r.status]}"
             + (f"（原版本 {r.previous_version}）" if r.status in ("upgraded", "replaced") else "")
             for r in results]
    emit({"packs": [asdict(r) for r in results]}, args.json, "\n".join(lines))
    return 0


@signed_in(supervisor="导入花名册")
def cmd_import_roster(args, d, op) -> int:
    from desktop_app.services.roster import import_roster

    r = import_roster(d, args.file, usage_path=args.usage, actor=op.login, dry_run=args.dry_run)
    verb = ("只校验，未导入：将新增", "将更新", "将拒绝") if args.dry_run else ("新增", "更新", "拒绝")
    text = (f"花名册 {Path(r.path).name}：共 {r.rows} 行，{verb[0]} {r.inserted} 人，{verb[1]} {r.updated} 人，"
            f"{verb[2]} {r.rejected} 行。")
    if r.usage_rows:
        text += f"\n待遇累计：共 {r.usage_rows} 行，拒绝 {r.usage_rejected} 行。"
    for note in (r.usage_note, r.encoding_note):
        if note:
            text += f"\n注意：{note}。"
    if r.report_path:
        text += f"\n错误报告：{r.report_path}"
    if r.report_note:  # the report could not be written: the rows themselves, so nothing is lost
        text += f"\n注意：{r.report_note}：" + "".join(
            f"\n  {e.sheet} 第 {e.row} 行 {e.psn_no} {e.field}：{e.reason}" for e in r.errors[:50])
        if len(r.errors) > 50:
            text += f"\n  ……共 {len(r.errors)} 行（--json 输出前 200 行）"
    data = asdict(r) | {"dry_run": args.dry_run}
    data["errors"] = data["errors"][:200]
    emit(data, args.json, text)
    return 0


# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------
@signed_in(supervisor="查看和修改机构设置")
def cmd_settings(args, d, op) -> int:
    """The window's 设置 on the command line: show them all, or set one (validated, audited)."""
    from desktop_app.services import settings as settings_service

    if args.settings_command == "set":
        if args.key is None or args.value is None:
            raise Refused("用法：clinic-settle settings set 设置项 值", field="key", code="invalid_input")
        st = settings_service.save(d, {args.key: args.value}, actor=op.login)
        emit({"settings": {k: st.get(k) for k in settings_service.DEFAULTS}, "unset": st.unset()}, args.json,
             f"已保存：{settings_service.LABELS[args.key]}（{args.key}）= {st.get(args.key)}")
        return 0
    st = settings_service.load(d)
    unset = st.unset()
    lines = [f"{settings_service.LABELS[k]:<12}{k:<28}{st.get(k)}" + ("（未设置，结算前须填写）" if k in unset else "")
             for k in settings_service.DEFAULTS]
    emit({"settings": {k: st.get(k) for k in settings_service.DEFAULTS}, "unset": unset}, args.json, "\n".join(lines))
    return 0


# ---------------------------------------------------------------------------
# audit, user
# ---------------------------------------------------------------------------
def _anchor_arg(value: str):
    """--anchor TEXT or FILE (any file holding it: a saved note, an export manifest)."""
    from desktop_app.services import audit

    path = Path(value)
    if len(value) < 1024 and path.is_file() and not path.is_symlink() and path.stat().st_size <= 1024 * 1024:
        value = path.read_text(encoding="utf-8", errors="replace")
    with refusing(ValueError, field="anchor", code="invalid_input"):
        return audit.Anchor.parse(value)


def _audit_verify(args, d) -> int:
    from desktop_app.services import audit

    anchor = _anchor_arg(args.anchor) if args.anchor else None
    r = audit.verify(d, anchor=anchor, actor=args.operator_login)
    data = {"ok": r.ok, "entries": r.entries, "settlements": r.settlements, "anchor": str(anchor) if anchor else None,
            "problems": [asdict(p) for p in r.problems], "notices": [asdict(p) for p in r.notices]}
    notes = "".join(f"\n  注意：{p.message}" for p in r.notices)
    if r.ok:
        held = f"，包含锚点 {anchor}" if anchor else ""
        emit(data, args.json, f"审计链完整：{r.entries} 条审计记录，{r.settlements} 笔结算与记录一致{held}。" + notes)
        return 0
    emit(data, args.json, "审计校验发现问题：\n" + "\n".join(f"  {p.message}" for p in r.problems) + notes)
    return EXIT_REFUSED


@signed_in(supervisor="查看和校验审计记录")
def cmd_audit(args, d, op) -> int:
    from desktop_app.services import audit

    if args.audit_command == "anchor":
        a = audit.anchor(d)
        emit({"anchor": str(a), "entry_id": a.entry_id, "hash": a.hash}, args.json,
             f"审计锚点 {a}\n（请抄在日结单上或另行保存；日后用 clinic-settle audit verify --anchor 核对审计记录未被改写）")
        return 0
    if args.audit_command == "verify":
        return _audit_verify(args, d)
    rows = audit.recent(d, args.limit, actor=op.login)
    emit({"entries": [asdict(e) for e in rows]}, args.json, "\n".join(
        f"{e.id:>6}  {e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<10} {e.action:<14} {e.subject}" for e in rows))
    return 0


NEW_PASSWORD_ENV = "CLINIC_SETTLE_NEW_PASSWORD"


def _new_password(args) -> str:
    """The new password: typed twice on the terminal, or (scripts) CLINIC_SETTLE_NEW_PASSWORD — never read
    from a pipe, as the sign-in password is not."""
    import getpass
    import os

    pw = os.environ.get(NEW_PASSWORD_ENV)
    if pw is not None:
        return pw
    if not sys.stdin.isatty():
        raise Refused(f"需要新密码：请在终端中运行以便输入，或设置环境变量 {NEW_PASSWORD_ENV}", field="password")
    a = getpass.getpass("新密码：")
    if getpass.getpass("再输一次：") != a:
        from desktop_app.services.accounts import AuthError

        raise AuthError("两次输入的密码不一致")
    return a


def cmd_user(args) -> int:
    from desktop_app.services import accounts

    d = open_database(args)
    own = args.user_command == "passwd" and (not args.login or args.login == operator_named(args))
    # changing one's own password is open to every operator (and is how a forced change is done);
    # everything else here is a supervisor's
    op = signin(d, args, supervisor=None if own else "管理操作员账户", allow_must_change=own)
    if args.user_command == "list":
        ops = accounts.list_operators(d)
        emit({"operators": [asdict(o) for o in ops]}, args.json, "\n".join(
            f"{o.login:<12} {o.name:<10} {accounts.ROLES.get(o.role, o.role)}"
            f"{'' if o.active else '（已停用）'}{'（须改密码）' if o.must_change_password else ''}" for o in ops))
        return 0
    if not args.login and not own:
        raise Refused("请给出操作员登录名", field="login", code="invalid_input")
    with refusing(ValueError, code="invalid_input"):
        _change_account(args, d, op, own)
    return 0


def _change_account(args, d, op, own: bool) -> None:
    from desktop_app.services import accounts

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


# ---------------------------------------------------------------------------
# backup, restore
# ---------------------------------------------------------------------------
@signed_in(supervisor="备份数据库")
def cmd_backup(args, d, op) -> int:
    from desktop_app.services import database

    info = database.backup(d, Path(args.to) if args.to else None, actor=op.login)
    emit(info, args.json, f"已备份（已校验）：{info.path}（{info.size / 1e6:.1f} MB）")
    return 0


def _restore_target(args) -> Path:
    from desktop_app.services import database

    target = database.locate(args.db)
    if target is None:
        raise Refused("服务器（PostgreSQL）数据库不由本程序恢复：请管理员在数据库服务器上用 pg_restore 从 "
                      "clinic-settle backup 做的 .pgdump 文件（或服务器自己的备份）恢复，见 docs/deployment.md。",
                      field="db", code="invalid_input")
    if not args.yes:
        raise Refused(f"恢复会用备份替换 {target}（原文件会保留为 *.before-restore-*）。确认请加 --yes。")
    return target


def cmd_restore(args) -> int:
    """Restore is a supervisor's act, checked against the backup being restored (the current database may
    be the damaged one), without writing to it; the lockout and the audit trail of that check are the live
    database's (when it can be read). The restored database then records who restored what."""
    from desktop_app.services import database
    from desktop_app.store.db import Database

    target = _restore_target(args)
    src = Path(args.file)
    with refusing(database.BackupError, field="file"):
        database.refuse_live_source(target, src)
    state = database.check(src) if src.is_file() else "找不到文件"
    if state != "ok":
        raise Refused(f"备份文件 {src.name} 校验未通过，未恢复：{state}", field="file", code="invalid_input")
    snapshot = Database(src, read_only=True)
    # the live database keeps the count of wrong passwords and their audit entries; a damaged one cannot
    live = Database(target) if target.is_file() and database.check(target, quick=True) == "ok" else None
    try:
        signin(snapshot, args, supervisor="恢复数据库", trail=live, read_only=True)
    finally:
        snapshot.dispose()
        if live is not None:
            live.dispose()
    with refusing(database.BackupError, field="file", code="invalid_input"):  # checked above, before the sign-in
        kept = database.restore(target, src, actor=args.operator_login, via="cli", verified=True).kept
    emit({"restored": str(target), "previous_kept_as": str(kept)}, args.json,
         f"已从 {args.file} 恢复到 {target}；原文件保留为 {kept}")
    return 0


# ---------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------
def _init_arguments(p) -> None:
    p.add_argument("--supervisor", metavar="LOGIN",
                   help="创建首个管理员（仅当还没有任何操作员），显示一次性初始密码，首次登录须修改")
    common_options(p, operator=False)
    p.set_defaults(func=cmd_init)


def _sync_arguments(p) -> None:
    p.add_argument("pack", help="政策包文件夹、.zip，或含多个包的文件夹")
    p.add_argument("--force", action="store_true", help="允许回退到较旧版本或替换同版本")
    p.add_argument("--allow-unsigned", action="store_true", help="接受未签名的测试包（记入审计）")
    common_options(p)
    p.set_defaults(func=cmd_sync)


def _import_roster_arguments(p) -> None:
    p.add_argument("file")
    p.add_argument("--usage", help="待遇累计单独的文件（.csv/.xlsx）；xlsx 花名册可放在第二个工作表")
    p.add_argument("--dry-run", action="store_true", help="只校验每一行并写错误报告，不导入（窗口的“校验”）")
    common_options(p)
    p.set_defaults(func=cmd_import_roster)


def _settings_arguments(p) -> None:
    p.add_argument("settings_command", choices=("show", "set"))
    p.add_argument("key", nargs="?", help="set：设置项（clinic_code、clinic_name、clinic_admdvs、clinic_level、"
                                          "clinic_price_class、receipt_format、printer、font_path……）")
    p.add_argument("value", nargs="?", help="set：新值")
    common_options(p)
    p.set_defaults(func=cmd_settings)


def _demo_arguments(p) -> None:
    p.add_argument("--persons", type=int, default=500)
    p.add_argument("--if-empty", action="store_true", help="数据库已有参保人时什么也不做（make run 使用）")
    common_options(p, operator=False)
    p.set_defaults(func=cmd_demo)


def _audit_arguments(p) -> None:
    p.add_argument("audit_command", choices=("verify", "anchor", "list"))
    p.add_argument("--anchor", metavar="TEXT|FILE",
                   help="verify：同时核对此前保存的审计锚点（#记录号 十六进制，或含锚点的文件，如对账导出的 manifest）")
    p.add_argument("--limit", type=int, default=50)
    common_options(p)
    p.set_defaults(func=cmd_audit)


def _user_arguments(p) -> None:
    p.add_argument("user_command", choices=("list", "add", "passwd", "disable", "enable"))
    p.add_argument("login", nargs="?", default="")
    p.add_argument("--name", help="add：姓名")
    p.add_argument("--role", choices=("clerk", "supervisor"), default="clerk")
    common_options(p)
    p.set_defaults(func=cmd_user)


def _backup_arguments(p) -> None:
    p.add_argument("--to", help="备份文件夹（默认：数据库旁的 backups/）")
    common_options(p)
    p.set_defaults(func=cmd_backup)


def _restore_arguments(p) -> None:
    p.add_argument("file")
    p.add_argument("--yes", action="store_true", help="确认替换当前数据库")
    common_options(p)
    p.set_defaults(func=cmd_restore)


def _gui_arguments(p) -> None:
    from desktop_app.cli.common import DB_HELP

    p.add_argument("--db", default=None, help=DB_HELP)
    p.set_defaults(func=cmd_gui)


def _status_arguments(p) -> None:
    from desktop_app.cli.common import DB_HELP

    p.add_argument("--db", default=None, help=DB_HELP)
    p.set_defaults(func=cmd_status)


ARGUMENTS = {"init": _init_arguments, "sync": _sync_arguments, "import-roster": _import_roster_arguments,
             "settings": _settings_arguments,
             "demo": _demo_arguments, "audit": _audit_arguments, "user": _user_arguments,
             "backup": _backup_arguments, "restore": _restore_arguments, "gui": _gui_arguments,
             "status": _status_arguments}
