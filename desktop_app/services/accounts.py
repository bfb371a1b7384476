"""Operator accounts. Passwords are hashed with scrypt (memory-hard), never stored in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from desktop_app.errors import Refused
from desktop_app.store import models as m
from desktop_app.store.db import Database

ROLES = {"clerk": "收费员", "supervisor": "管理员"}
MAX_FAILURES = 5  # consecutive wrong passwords before the account is locked
LOCK_MINUTES = 5  # how long it stays locked
MIN_PASSWORD = 8


class AuthError(Refused):
    """A refused login or account change, with the message for the clerk."""
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        alg, n, r, p, salt, dk = stored.split("$")
        if alg != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(dk)))
        return hmac.compare_digest(got, base64.b64decode(dk))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class OperatorInfo:
    login: str
    name: str
    role: str
    active: bool
    must_change_password: bool


def _check_new(login: str, role: str, password: str) -> None:
    if role not in ROLES:
        raise ValueError(f"角色须为 {'/'.join(ROLES)}")
    if not login or not login.isascii() or not login.replace("_", "").isalnum():
        raise ValueError("登录名只能用字母、数字和下划线")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少{MIN_PASSWORD}位")
    if login.lower() == SYSTEM:
        raise ValueError(f"登录名 {login} 是审计记录中程序自身的名称，请换一个")


def _insert_operator(s, actor: str, login: str, name: str, role: str, password: str, must_change: bool,
                     detail: dict | None = None) -> OperatorInfo:
    from desktop_app.services import audit

    if s.execute(select(m.Operator).where(m.Operator.login == login)).first():
        raise ValueError(f"登录名 {login} 已存在")
    before = audit.operators_digest(s)
    s.add(m.Operator(login=login, name=name, role=role, password_hash=hash_password(password),
                     must_change_password=must_change, active=True, created_at=datetime.now()))
    s.flush()
    audit.append(s, actor, "account_add", login, {"name": name, "role": role, **(detail or {})}, before=before,
                 after=audit.operators_digest(s))
    return OperatorInfo(login, name, role, True, must_change)


def create_operator(db: Database, login: str, name: str, role: str, password: str, *,
                    must_change: bool = True, actor: str) -> OperatorInfo:
    """A supervisor (`actor`) adds an operator."""
    _check_new(login, role, password)
    with db.write() as s:
        require_supervisor(s, actor, "添加操作员")
        return _insert_operator(s, actor, login, name, role, password, must_change)


def create_first_operators(db: Database, operators: list[tuple[str, str, str, str, bool]]) -> list[OperatorInfo]:
    """The accounts of a database that has none yet — its first supervisor, or the demo's accounts — as
    (login, name, role, password, must_change), the first of them a supervisor. Refused (AuthError) once any
    operator exists, in the same transaction, so it is never a way round a supervisor. The trail names the
    first supervisor as the one who added them (`first_start`)."""
    for login, _name, role, pw, _mc in operators:
        _check_new(login, role, pw)
    if not operators or operators[0][2] != "supervisor":
        raise ValueError("首个操作员须为管理员")
    with db.write() as s:
        if s.execute(select(m.Operator.id).limit(1)).first() is not None:
            raise AuthError("数据库中已有操作员，首个管理员只能在空数据库中创建；请由管理员用“添加操作员”建立账户")
        first = operators[0][0]
        return [_insert_operator(s, first, login, name, role, pw, mc, {"first_start": True})
                for login, name, role, pw, mc in operators]


def unknown_login_tag(name: str) -> str:
    """How the trail names a login name that is no operator: a short one-way tag, never the text (a password
    typed into the login box must not be stored in clear). The same name gives the same tag, so repeated
    attempts can be seen; 32 bits of a memory-hard hash, so a tag does not give the text back."""
    dk = hashlib.scrypt((name or "").encode(), salt=b"clinic-settle/unknown-login", n=_N, r=_R, p=_P, dklen=4)
    return "?" + dk.hex()


def _unknown(s, login: str, via: str) -> AuthError:
    from desktop_app.services import audit

    tag = unknown_login_tag(login)
    audit.append(s, tag, "login_failed", tag, {"reason": "unknown_or_disabled", "via": via})
    return AuthError("操作员或密码不正确")


def _disabled(s, login: str, via: str) -> AuthError:
    from desktop_app.services import audit

    audit.append(s, login, "login_failed", login, {"reason": "unknown_or_disabled", "via": via})
    return AuthError("操作员或密码不正确")


def _locked(s, op, now: datetime, via: str) -> AuthError | None:
    """The refusal (audited) when `op` is locked out now; None when it is not."""
    from desktop_app.services import audit

    if op.locked_until is None or now >= op.locked_until:
        return None
    audit.append(s, op.login, "login_refused", op.login, {"reason": "locked", "via": via})
    mins = max(1, int((op.locked_until - now).total_seconds() // 60) + 1)
    return AuthError(f"密码连续错误 {MAX_FAILURES} 次，账户已锁定，请 {mins} 分钟后再试或联系管理员")


def _failed(s, op, now: datetime, via: str) -> AuthError:
    """A wrong password for `op`: counted, audited, and the lockout after MAX_FAILURES."""
    from datetime import timedelta

    from desktop_app.services import audit

    op.failed_logins += 1
    detail = {"failures": op.failed_logins, "via": via}
    if op.failed_logins >= MAX_FAILURES:
        op.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        op.failed_logins = 0
        detail["locked_until"] = op.locked_until.isoformat(timespec="seconds")
    audit.append(s, op.login, "login_failed", op.login, detail)
    return AuthError("操作员或密码不正确" + (f"；账户已锁定 {LOCK_MINUTES} 分钟" if "locked_until" in detail else ""))


def _succeeded(s, op, via: str) -> None:
    from desktop_app.services import audit

    op.failed_logins = 0
    op.locked_until = None
    audit.append(s, op.login, "login", op.login, {"via": via})


def login(db: Database, login: str, password: str, *, now: datetime | None = None, via: str = "window") -> OperatorInfo:
    """Check a password. Every attempt is in the audit trail; after MAX_FAILURES wrong passwords in
    a row the account is locked for LOCK_MINUTES. Raises AuthError with the reason."""
    now = now or datetime.now()
    login = (login or "").strip()
    with db.write() as s:
        op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
        if op is None:
            err = _unknown(s, login, via)
        elif not op.active:
            err = _disabled(s, login, via)
        elif (locked := _locked(s, op, now, via)) is not None:
            err = locked
        elif not verify_password(password, op.password_hash):
            err = _failed(s, op, now, via)
        else:
            _succeeded(s, op, via)
            return OperatorInfo(op.login, op.name, op.role, op.active, op.must_change_password)
    raise err


def check_password(db: Database, login_name: str, password: str) -> OperatorInfo:
    """Check a password without writing to `db` (no lockout count, no audit entry in it). Only for a
    database that must not be changed; `login_against` gives such a check the live database's lockout
    and trail. Raises AuthError."""
    with db.read() as s:
        op = s.execute(select(m.Operator).where(m.Operator.login == (login_name or "").strip())).scalar_one_or_none()
        if op is None or not op.active or not verify_password(password, op.password_hash):
            raise AuthError("操作员或密码不正确")
        return OperatorInfo(op.login, op.name, op.role, op.active, op.must_change_password)


def login_against(live: Database, held_in: Database, login: str, password: str, *, via: str,
                  now: datetime | None = None) -> OperatorInfo:
    """Check a password against the accounts of `held_in` (a backup about to be restored: read, never
    written) under the lockout and audit trail of `live` (the database in use): a login locked out in
    `live` is refused without checking, and a wrong password counts towards its lockout there, as a
    login would. A login `live` does not know is audited under its tag (no count to keep). Raises
    AuthError."""
    now = now or datetime.now()
    login = (login or "").strip()
    with live.write() as s:
        op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
        err = _locked(s, op, now, via) if op is not None else None
        if err is None:
            try:
                info = check_password(held_in, login, password)
            except AuthError:
                err = _failed(s, op, now, via) if op is not None and op.active else _unknown(s, login, via)
            else:
                if op is not None:
                    _succeeded(s, op, via)
                else:  # an operator of the backup only: the trail still shows who signed in
                    from desktop_app.services import audit

                    audit.append(s, info.login, "login", info.login, {"via": via, "account": "backup"})
                return info
    raise err


def authenticate(db: Database, login_name: str, password: str) -> OperatorInfo | None:
    try:
        return login(db, login_name, password)
    except AuthError:
        return None


def change_password(db: Database, login_name: str, new_password: str, *, actor: str) -> None:
    """Set a new password (own password, or a supervisor resetting a clerk's). Clears must-change and lockout."""
    from desktop_app.services import audit

    if len(new_password) < MIN_PASSWORD:
        raise AuthError(f"新密码至少{MIN_PASSWORD}位")
    with db.write() as s:
        if actor != login_name:
            require_supervisor(s, actor, "重设别人的密码")
        op = s.execute(select(m.Operator).where(m.Operator.login == login_name)).scalar_one_or_none()
        if op is None:
            raise AuthError(f"没有操作员 {login_name}")
        if verify_password(new_password, op.password_hash):
            raise AuthError("新密码不能与原密码相同")
        before = audit.operators_digest(s)
        op.password_hash = hash_password(new_password)
        op.must_change_password = actor != login_name  # a reset by a supervisor must be changed at next login
        op.failed_logins = 0
        op.locked_until = None
        s.flush()
        audit.append(s, actor, "account_passwd", login_name, {}, before=before, after=audit.operators_digest(s))


def set_active(db: Database, login_name: str, active: bool, *, actor: str) -> None:
    from desktop_app.services import audit

    with db.write() as s:
        require_supervisor(s, actor, "停用或启用操作员")
        op = s.execute(select(m.Operator).where(m.Operator.login == login_name)).scalar_one_or_none()
        if op is None:
            raise AuthError(f"没有操作员 {login_name}")
        if not active and op.role == "supervisor":
            others = s.execute(select(m.Operator.id).where(m.Operator.role == "supervisor", m.Operator.active.is_(True),
                                                           m.Operator.login != login_name)).first()
            if others is None:
                raise AuthError("不能停用最后一个管理员")
        before = audit.operators_digest(s)
        op.active = active
        s.flush()
        audit.append(s, actor, "account_enable" if active else "account_disable", login_name, {}, before=before,
                     after=audit.operators_digest(s))


def list_operators(db: Database) -> list[OperatorInfo]:
    with db.read() as s:
        return [OperatorInfo(o.login, o.name, o.role, o.active, o.must_change_password)
                for o in s.execute(select(m.Operator).order_by(m.Operator.login)).scalars()]


def get_operator(db: Database, login: str) -> OperatorInfo | None:
    with db.read() as s:
        op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
        return None if op is None else OperatorInfo(op.login, op.name, op.role, op.active, op.must_change_password)


def has_operators(db: Database) -> bool:
    with db.read() as s:
        return s.execute(select(m.Operator.id).limit(1)).first() is not None


_INITIAL_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off a screen and typed once


def create_first_supervisor(db: Database, login: str = "admin", name: str = "管理员") -> str:
    """First start of a clinic's database: create its supervisor with a one-time initial password
    (returned, to be shown once) that must be changed at the first login. Refused once any
    operator exists, so it can never become a way round the supervisor's password."""
    import secrets

    initial = "".join(secrets.choice(_INITIAL_ALPHABET) for _ in range(10))
    create_first_operators(db, [(login, name, "supervisor", initial, True)])
    return initial


# How the trail names the program itself where nobody is signed in (the window's restore of a damaged
# database at start-up). Only a name in the trail: no check is ever skipped for it (an operator may even
# be called `system`; they are what their role says).
SYSTEM = "system"


def require_supervisor(s, actor: str, what: str) -> None:
    """Refuse `what` unless `actor` is an active supervisor. Every name is looked up: none is exempt."""
    op = s.execute(select(m.Operator).where(m.Operator.login == (actor or ""))).scalar_one_or_none()
    if op is None or not op.active or op.role != "supervisor":
        raise AuthError(f"只有管理员可以{what}")
