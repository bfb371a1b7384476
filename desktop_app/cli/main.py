"""`clinic-settle` — the command line: the parser, dispatch, and the one place a refusal is reported.

Every command's parser runs `set_defaults(func=…)`; `main` calls `args.func(args)`. The index below
names each command, its one-line help and the module (under desktop_app.cli) that declares its
arguments; only the module of the command being run is imported, so `calc` loads neither the
database code nor SQLAlchemy nor Qt (a test checks), and no other command's arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import import_module

from desktop_app.errors import EXIT_BUG, Refused

# command → (module under desktop_app.cli, one-line help); the order is the order of `--help`
COMMANDS: dict[str, tuple[str, str]] = {
    "calc": ("calc", "试算：读入结算请求 JSON，输出结算结果 JSON（不用数据库、不开界面）"),
    "packs": ("packs", "政策包工具"),
    "init": ("admin", "创建或升级数据库；--supervisor 在空数据库中创建首个管理员"),
    "sync": ("admin", "把政策包（文件夹或 .zip）同步进数据库"),
    "import-roster": ("admin", "导入花名册（.xlsx 或 .csv；--dry-run 只校验）"),
    "import-catalogue": ("catalogue", "导入医保目录（.xlsx 或 .csv；--dry-run 只校验；有错误行则整份不导入）"),
    "import-prices": ("catalogue", "导入本机构收费目录（.xlsx 或 .csv；--dry-run 只校验）"),
    "export-prices": ("catalogue", "导出本机构收费目录（.xlsx 或 .csv，可改后再导入）"),
    "items": ("catalogue", "查找收费目录中的项目：编码、名称或拼音首字母"),
    "check-ready": ("catalogue", "开业检查：列出开始结算前还缺什么"),
    "settings": ("admin", "机构设置：show 显示；set 设置项 值（管理员，记入审计）"),
    "lookup": ("ledger", "查找参保人：身份证号、人员编号、扫码内容、姓名或拼音"),
    "settle": ("ledger", "结算一次就诊（--dry-run 只预结算）"),
    "reverse": ("ledger", "冲正一笔结算"),
    "day-close": ("ledger", "日结"),
    "day-reopen": ("ledger", "撤销日结（管理员；只限没有结算记录的营业日）"),
    "receipt": ("ledger", "生成（补打）结算单 PDF"),
    "report": ("ledger", "报表：day 日结单、month 月度汇总、detail 结算明细"),
    "export": ("ledger", "对账导出：JSON Lines + xlsx + 清单（SHA-256）"),
    "demo": ("admin", "在空数据库中生成演示数据"),
    "audit": ("admin", "审计：verify 校验审计链和结算金额；anchor 打印审计锚点；list 最近的记录"),
    "user": ("admin", "操作员账户：list / add / passwd / disable / enable（管理员）"),
    "backup": ("admin", "备份数据库（SQLite 在线备份，校验后保存，保留最近30份；服务器数据库用 pg_dump）"),
    "restore": ("admin", "从备份恢复（管理员，按备份中的账户核对密码；先校验备份；程序须已关闭）"),
    "county": ("county", "县级中心：ingest 导入各机构对账导出；report 月报；overruns 超限额；usage 生成待遇累计"),
    "gui": ("admin", "打开结算台窗口（默认命令）"),
    "status": ("admin", "显示数据库位置、机构、人数和今日结算笔数"),
}
ALL = "*"


def _utf8_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(encoding="utf-8")
        except (AttributeError, ValueError):  # pragma: no cover - non-reconfigurable streams
            pass


def command_in(argv: list[str]) -> str | None:
    """The command named in `argv` (the first word that is not an option; the program's own options
    take no value), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


_ARGPARSE_ZH = (  # argparse's own messages, as a clerk should read them (exit 2 as before); patterns compiled
    # only when an error is reported (not on every start)
    (r"the following arguments are required: (.*)", "缺少必填参数：{0}"),
    (r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)", "参数 {0} 的值“{1}”无效，可选：{2}"),
    (r"invalid choice: '([^']*)' \(choose from (.*)\)", "无效的命令“{0}”，可选：{1}"),
    (r"unrecognized arguments: (.*)", "无法识别的参数：{0}"),
    (r"argument (\S+): expected one argument", "参数 {0} 后面缺少取值"),
    (r"argument (\S+): invalid (\w+) value: '([^']*)'", "参数 {0} 的值“{2}”不是有效的数字"),
)


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with its error messages in Chinese (usage line kept; exit code 2 as documented)."""

    def error(self, message: str):
        for pattern, zh in _ARGPARSE_ZH:
            mo = re.fullmatch(pattern, message)
            if mo:
                message = zh.format(*mo.groups())
                break
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{message.replace('参数 命令 的值', '命令')}（{self.prog} --help 查看用法）\n")


def build_parser(only: str | None = ALL) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that command's arguments are declared (the others are
    listed, with their help, but not built). The default command opens the window."""
    p = ChineseArgumentParser(
        prog="clinic-settle",
        description="乡镇医保结算台 ClinicSettle：医保结算、试算与政策包工具。",
        formatter_class=_Formatter,
    )
    p.add_argument("--self-test", action="store_true",
                   help="自检：临时数据库、内置政策包、查找、结算、结算单 PDF、界面（不碰真实数据）")
    p.set_defaults(func=_default_command)
    sub = p.add_subparsers(dest="command", metavar="命令")
    # a known command gets only its own parser (each costs an ArgumentParser); --help, no command or an
    # unknown one list them all
    names = [only] if only in COMMANDS else list(COMMANDS)
    for name in names:
        module, help_ = COMMANDS[name]
        cp = sub.add_parser(name, help=help_, formatter_class=_Formatter)
        if only in (ALL, name):
            import_module(f"desktop_app.cli.{module}").ARGUMENTS[name](cp)
    return p


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter without `shutil` (which argparse imports only for the terminal width, and which
    pulls in bz2 and lzma): the same width rule, from COLUMNS or the terminal, else 80."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    import os

    try:
        columns = int(os.environ["COLUMNS"])
        if columns > 0:
            return columns
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def _default_command(args: argparse.Namespace) -> int:
    from desktop_app.cli.admin import cmd_gui

    return cmd_gui(args)


def _private_umask() -> None:
    """Everything the program creates — database, backups, logs, receipts, reports, exports, error reports —
    is readable by this account only (files 0600, folders 0700) where the OS has such modes."""
    import os

    if os.name == "posix":
        os.umask(0o077)


def _parse(parser, argv: list[str]):
    """parse_args, except that `county ingest --db X DIR`'s folders after an option are taken too: argparse
    gives the optional positional EXPORT_DIR its (empty) share before the first option and leaves the rest over."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "county_command", None) == "ingest" and not any(x.startswith("-") for x in extra):
            args.paths = [*args.paths, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    _utf8_stdio()
    _private_umask()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parse(build_parser(command_in(argv)), argv)
    try:
        if args.self_test:
            from desktop_app.cli.selftest import run

            return run()
        return args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except Refused as exc:  # a rule said no: the message, and the exit code its code calls for
        from desktop_app.cli.common import report

        return report(exc, getattr(args, "json", False))
    except Exception as exc:
        # a bug: the traceback for the report, with any ID number masked (docs/security.md, privacy)
        from desktop_app.privacy import format_exception

        sys.stderr.write(format_exception(exc))
        sys.stderr.write("程序出错（上面是给维护人员的详细信息）。已保存的结算不受影响。\n")
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
