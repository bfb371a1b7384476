"""`clinic-settle calc`: the what-if calculator of `shared/contracts/calc.md`.

No Qt, no database: claim JSON in, result JSON out, through the same engine the
settlement service uses. Exit codes: 0 computed, 2 invalid input, 3 cannot be
settled under the policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from desktop_app.core.claim_io import InvalidInput, parse_claim, settlement_to_json
from desktop_app.core.engine import PolicyError, settle
from desktop_app.core.pack_files import load_policy
from desktop_app.core.policy import PackInvalid, PolicySet

EXIT_OK, EXIT_INVALID, EXIT_POLICY = 0, 2, 3


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise InvalidInput(k, f"字段“{k}”重复出现")
        out[k] = v
    return out


def _reject_constant(name: str):
    raise InvalidInput("json", f"不支持的数值 {name}")


def loads_claim(text: str) -> object:
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal,
                          object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput("json", f"不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）") from None


def calc_one(raw: object, policy: PolicySet) -> tuple[int, dict]:
    """One parsed JSON claim → (exit code, result or error object)."""
    try:
        claim, history = parse_claim(raw)
        return EXIT_OK, settlement_to_json(settle(claim, history, policy))
    except InvalidInput as exc:
        return EXIT_INVALID, exc.to_json()
    except PolicyError as exc:
        return EXIT_POLICY, exc.to_json()


def calc_text(text: str, policy: PolicySet) -> tuple[int, dict]:
    try:
        raw = loads_claim(text)
    except InvalidInput as exc:
        return EXIT_INVALID, exc.to_json()
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
        if source in (None, "-"):
            data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read()
        else:
            data = Path(source).read_bytes()
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except OSError as exc:
        err = InvalidInput("claim", f"无法读取结算请求文件 {source}：{exc.strerror}")
        stdout.write(dumps(err.to_json()) + "\n")
        return EXIT_INVALID
    except UnicodeDecodeError:
        stdout.write(dumps(InvalidInput("json", "结算请求不是 UTF-8 编码").to_json()) + "\n")
        return EXIT_INVALID
    code, obj = calc_text(text, policy)
    stdout.write(dumps(obj) + "\n")
    return code


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
