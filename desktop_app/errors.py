"""Refusals and exit codes: one type every layer may raise (core included), one table of exit codes.

A `Refused` is a rule saying no — invalid input, a policy that does not cover the claim, a clerk
asking for a supervisor's action, a busy database — with the message for the clerk (Chinese,
naming the field). It is not a bug: the command line reports it once (`desktop_app.cli.main`),
with the exit code the table below gives for its `code`. Imports nothing of the program.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_INVALID = 2
EXIT_POLICY = 3
EXIT_BUSY = 4
EXIT_BUG = 70  # EX_SOFTWARE

# The exit codes of `clinic-settle` and what they mean (README.md shows this table; a test checks it).
EXIT_CODES = {
    EXIT_OK: "完成",
    EXIT_REFUSED: "被拒绝（未登录、权限不足、已日结、找不到结算单或参保人……）",
    EXIT_INVALID: "输入有误",
    EXIT_POLICY: "按现行政策无法结算",
    EXIT_BUSY: "数据库暂时无法写入：正被另一个程序占用，或磁盘已满、只读，或连不上数据库服务器（什么也没写入，处理后重试）",
    EXIT_BUG: "程序出错（标准错误输出中是给维护人员的详细信息；已保存的结算不受影响）",
}

# A refusal's `code` → its exit code; every other code is a plain refusal (EXIT_REFUSED).
EXIT_FOR_CODE = {
    "invalid_input": EXIT_INVALID,
    "invalid_pack": EXIT_INVALID,
    "no_policy_in_force": EXIT_POLICY,
    "policy_parameter_missing": EXIT_POLICY,
    "pack_tampered": EXIT_POLICY,
    "database_busy": EXIT_BUSY,
    "disk_full": EXIT_BUSY,
    "disk_io_error": EXIT_BUSY,
    "database_read_only": EXIT_BUSY,
    "database_unavailable": EXIT_BUSY,
    "server_unreachable": EXIT_BUSY,
}


class Refused(Exception):
    """A rule said no; nothing was changed. `message` is for the clerk, `field` names the input
    (when there is one), `code` is for programs, `exit` is the command line's exit code (from
    EXIT_FOR_CODE unless given), `extra` holds more fields of the JSON error object."""

    def __init__(self, message: str, field: str = "", code: str = "refused", exit: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.exit = EXIT_FOR_CODE.get(code, EXIT_REFUSED) if exit is None else exit
        self.extra: dict = {}
