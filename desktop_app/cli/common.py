"""What every database command shares: output (text, or JSON with --json), the one way a refusal is
reported, signing in, and the common options (--db, --json, --operator).

Exit codes come from `desktop_app.errors` (EXIT_CODES; a refusal's exit follows its code). A command
raises a `Refused`; `desktop_app.cli.main` reports it once, through `report`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal

from desktop_app.errors import Refused

PASSWORD_ENV = "CLINIC_SETTLE_PASSWORD"
OPERATOR_ENV = "CLINIC_SETTLE_OPERATOR"
DB_HELP = ("数据库文件，或数据库服务器 postgresql+psycopg://用户:密码@主机:端口/库名（默认：环境变量 CLINIC_SETTLE_DB，"
           "否则用户数据目录下的 ClinicSettle/clinic-settle.sqlite3）")
OPERATOR_HELP = (f"操作员登录名（或环境变量 {OPERATOR_ENV}）；密码在终端提示输入，脚本中可用环境变量 {PASSWORD_ENV}")


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


def report(exc: Refused, as_json: bool) -> int:
    """The one place a refusal becomes output and an exit code."""
    return fail(exc.message, as_json, exc.exit, error_code=exc.code, field=exc.field, **exc.extra)


@contextmanager
def refusing(*errors: type[Exception], field: str = "", code: str = "refused") -> Iterator[None]:
    """Inside the block, `errors` (a service's ValueError, or a refusal that should name this command's
    option) are reported as a refusal with `field` and `code`."""
    try:
        yield
    except errors as exc:
        raise Refused(getattr(exc, "message", None) or str(exc), field=field, code=code) from exc


def open_database(args, *, migrate: bool = True, must_exist: bool = True):
    """The database `--db` names (migrated). Only `init` and `demo` make a new one: any other command on a
    SQLite file that is not there — a mistyped --db — is refused instead of creating an empty database."""
    from desktop_app.store.db import open_db

    require_database(args.db, must_exist)
    return open_db(args.db, migrate=migrate)


def require_database(db_arg, must_exist: bool = True) -> None:
    from desktop_app.services.database import locate, require_schema

    path = locate(db_arg)
    if must_exist and path is None:  # a server database: made by the administrator, its tables by `init`
        require_schema(db_arg)
    if must_exist and path is not None and not path.is_file():
        raise Refused(f"数据库文件 {path} 不存在（--db 或 CLINIC_SETTLE_DB 是否写错？）。新建本机构的数据库请用 "
                      "clinic-settle init --supervisor admin（或在窗口中选“建立本机构”），演示数据用 clinic-settle demo。",
                      field="db", code="invalid_input")


class SignInRefused(Refused):
    def __init__(self, message: str, field: str = "operator"):
        super().__init__(message, field=field, code="not_authorised")


def signin(d, args, *, supervisor: str | None = None, allow_must_change: bool = False, trail=None,
           read_only: bool = False):
    """Every command that reads personal data or changes anything acts for a logged-in operator.

    The operator is `--operator` (or CLINIC_SETTLE_OPERATOR); the password is asked for on the
    terminal, or read from CLINIC_SETTLE_PASSWORD (scripts). The login goes through the same
    lockout and audit trail as the window (`via: cli`). With `trail` (restore), the password is
    checked against `d` (a backup: never written) under the lockout and trail of the database
    `trail` (`via: restore`); with `read_only` and no trail (a restore onto a damaged or missing
    database: nowhere to keep a count) the password is only checked against `d`. `supervisor` names the
    action a clerk may not do. Raises SignInRefused with the message for the user."""
    from desktop_app.services import accounts

    login = _login_of(args)
    pw = _password_for(login)
    try:
        if trail is not None:
            op = accounts.login_against(trail, d, login, pw, via="restore")
        elif read_only:
            op = accounts.check_password(d, login, pw)
        else:
            op = accounts.login(d, login, pw, via="cli")
    except accounts.AuthError as exc:
        raise SignInRefused(str(exc), "password") from None
    args.operator_login = op.login
    if op.must_change_password and not allow_must_change:
        raise SignInRefused(f"操作员 {login} 须先修改密码：clinic-settle user passwd {login} --operator {login}"
                            "（或在窗口中登录修改）", "password")
    if supervisor and op.role != "supervisor":
        raise SignInRefused(f"只有管理员可以{supervisor}（{login} 是{accounts.ROLES.get(op.role, op.role)}）")
    return op


def operator_named(args) -> str:
    import os

    return (getattr(args, "operator", None) or os.environ.get(OPERATOR_ENV) or "").strip()


def _login_of(args) -> str:
    login = operator_named(args)
    if not login:
        raise SignInRefused(f"请用 --operator 指定操作员登录名（或设置环境变量 {OPERATOR_ENV}）")
    return login


def _password_for(login: str) -> str:
    import getpass
    import os

    pw = os.environ.get(PASSWORD_ENV)
    if pw is None:
        if not sys.stdin.isatty():
            raise SignInRefused(f"需要操作员 {login} 的密码：请在终端中运行以便输入，或设置环境变量 {PASSWORD_ENV}",
                                "password")
        pw = getpass.getpass(f"操作员 {login} 的密码：")
    return pw


def signed_in(supervisor: str | None = None, *, dry_run_open: bool = False):
    """Decorator: sign in first (see `signin`); the command receives the database and the operator.
    `dry_run_open`: with --dry-run (checks only, changes nothing) anyone signed in may run it."""
    import functools

    def wrap(cmd):
        @functools.wraps(cmd)
        def run(args) -> int:
            d = open_database(args)
            who = None if dry_run_open and getattr(args, "dry_run", False) else supervisor
            return cmd(args, d, signin(d, args, supervisor=who))

        return run

    return wrap


def common_options(p, *, operator: bool = True) -> None:
    """--db and --json on every database command; --operator on those that sign in."""
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    if operator:
        p.add_argument("--operator", help=OPERATOR_HELP)
