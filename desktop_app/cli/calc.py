"""`clinic-settle calc`: claims in (a file, standard input, or --batch JSON Lines), results out, exit codes
as `docs/calc.md` says: 0 computed, 2 invalid input, 3 cannot be settled under the policy.

The calculation itself is `desktop_app.core.calc.calc_one`. Nothing here touches the database.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop_app.core.calc import calc_one
from desktop_app.core.claim_io import InvalidInput, load_json
from desktop_app.core.pack_files import load_policy
from desktop_app.core.policy import PackInvalid, PolicySet
from desktop_app.errors import EXIT_INVALID, EXIT_OK


def loads_claim(text: str) -> object:
    return load_json(text, "json")


def calc_text(text: str, policy: PolicySet) -> tuple[int, dict]:
    try:
        raw = loads_claim(text)
    except InvalidInput as exc:
        return exc.exit, exc.to_json()
    return calc_one(raw, policy)


def pack_error(exc: PackInvalid) -> dict:
    return {"error": {
        "code": "invalid_input", "field": "--pack",
        "message": "政策包校验未通过：" + "；".join(str(p) for p in exc.problems[:5])
                   + (f"（共 {len(exc.problems)} 处）" if len(exc.problems) > 5 else ""),
        "problems": [str(p) for p in exc.problems],
    }}


def dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


def run(source: str | None, packs: Sequence[str], batch: str | None, out: str | None,
        stdin, stdout) -> int:
    try:
        policy = load_policy(packs)
    except PackInvalid as exc:
        stdout.write(dumps(pack_error(exc)) + "\n")
        return EXIT_INVALID
    if batch is not None:
        return _run_batch(batch, out, policy, stdout)
    try:
        text = _read_claim(source, stdin)
    except InvalidInput as exc:
        stdout.write(dumps(exc.to_json()) + "\n")
        return exc.exit
    code, obj = calc_text(text, policy)
    stdout.write(dumps(obj) + "\n")
    return code


def _read_claim(source: str | None, stdin) -> str:
    try:
        if source in (None, "-"):
            data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read()
        else:
            data = Path(source).read_bytes()
        return data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except OSError as exc:
        raise InvalidInput("claim", f"无法读取结算请求文件 {source}：{exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput("json", "结算请求不是 UTF-8 编码") from None


def _run_batch(batch: str, out: str | None, policy: PolicySet, stdout) -> int:
    try:
        fh = open(batch, encoding="utf-8-sig")
    except OSError as exc:
        stdout.write(dumps(InvalidInput("--batch", f"无法读取批量文件 {batch}：{exc.strerror}").to_json()) + "\n")
        return EXIT_INVALID
    sink = open(out, "w", encoding="utf-8", newline="\n") if out else stdout
    try:
        with fh:
            try:
                for line in fh:
                    if not line.strip():
                        continue
                    _code, obj = calc_text(line, policy)
                    sink.write(dumps(obj) + "\n")
            except UnicodeDecodeError:
                stdout.write(dumps(InvalidInput("--batch", "批量文件不是 UTF-8 编码").to_json()) + "\n")
                return EXIT_INVALID
    finally:
        if sink is not stdout:
            sink.close()
    return EXIT_OK


def cmd_calc(args) -> int:
    return run(args.claim, args.pack, args.batch, args.out, sys.stdin, sys.stdout)


def _calc_arguments(c) -> None:
    c.add_argument("claim", nargs="?", default=None, help="结算请求 JSON 文件；省略或 - 表示从标准输入读")
    c.add_argument("--pack", action="append", default=[], metavar="DIR_OR_FILE",
                   help="额外的政策包（文件夹、.zip 或含多个包的文件夹），覆盖在内置政策包之上，可重复")
    c.add_argument("--batch", metavar="IN.jsonl", help="批量试算：每行一个请求")
    c.add_argument("--out", metavar="OUT.jsonl", help="批量结果写入文件（默认标准输出）")
    c.set_defaults(func=cmd_calc)


ARGUMENTS = {"calc": _calc_arguments}
