"""Operator accounts. Passwords are hashed with scrypt (memory-hard), never stored in clear."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from desktop_app.store import models as m
from desktop_app.store.db import Database

ROLES = {"clerk": "收费员", "supervisor": "管理员"}
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


def create_operator(db: Database, login: str, name: str, role: str, password: str, *,
                    must_change: bool = True) -> OperatorInfo:
    if role not in ROLES:
        raise ValueError(f"角色须为 {'/'.join(ROLES)}")
    if not login or not login.isascii() or not login.replace("_", "").isalnum():
        raise ValueError("登录名只能用字母、数字和下划线")
    if len(password) < 6:
        raise ValueError("密码至少6位")
    with db.write() as s:
        if s.execute(select(m.Operator).where(m.Operator.login == login)).first():
            raise ValueError(f"登录名 {login} 已存在")
        s.add(m.Operator(login=login, name=name, role=role, password_hash=hash_password(password),
                         must_change_password=must_change, active=True, created_at=datetime.now()))
    return OperatorInfo(login, name, role, True, must_change)


def authenticate(db: Database, login: str, password: str) -> OperatorInfo | None:
    with db.read() as s:
        op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
        if op is None or not op.active or not verify_password(password, op.password_hash):
            return None
        return OperatorInfo(op.login, op.name, op.role, op.active, op.must_change_password)


def get_operator(db: Database, login: str) -> OperatorInfo | None:
    with db.read() as s:
        op = s.execute(select(m.Operator).where(m.Operator.login == login)).scalar_one_or_none()
        return None if op is None else OperatorInfo(op.login, op.name, op.role, op.active, op.must_change_password)


def has_operators(db: Database) -> bool:
    with db.read() as s:
        return s.execute(select(m.Operator.id).limit(1)).first() is not None
