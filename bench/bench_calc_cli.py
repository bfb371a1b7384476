"""Whole-process latency of `clinic-settle calc` for one claim.

    .venv/bin/python bench/bench_calc_cli.py
    .venv/bin/python bench/bench_calc_cli.py --runs 50 --claim my_claim.json

Runs ``[sys.executable, "-m", "desktop_app", "calc", FILE]`` `--warmup` times
untimed, then `--runs` times timed (wall clock, `time.perf_counter` around
`subprocess.run`), and prints median / p90 / min seconds. For comparison, in the
same run, it times the bare interpreter ``[sys.executable, "-c", "pass"]`` the
same number of times and prints the ratio. Finally it runs the calc once under
``-X importtime`` and reports which top-level modules the calc path imports, and
whether PySide6 or SQLAlchemy are among them (they must not be).

The claim is contract worked example 1 (太原 resident, 三类 primary clinic,
2024-03-01) unless `--claim` is given. Target: median ≤ 0.4 s.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
TARGET_MEDIAN = 0.4
GOAL_RATIO = 2.5  # issue #16: calc whole process against `python -c pass`
FORBIDDEN = ("PySide6", "shiboken6", "PyQt5", "PyQt6", "sqlalchemy", "alembic", "sqlite3")

EXAMPLE_1 = {
    "date": "2024-03-01",
    "benefit": "general_outpatient",
    "insured": {"insutype": "390", "category": "resident", "admdvs": "140100"},
    "institution": {"code": "H14010000001", "admdvs": "140100", "level": "primary", "price_class": 3},
    "items": [
        {"code": "XA01", "name": "阿莫西林胶囊", "kind": "drug", "chrgitm_lv": "01", "qty": "1", "price": "50.00"},
        {"code": "XB01", "name": "头孢克肟片", "kind": "drug", "chrgitm_lv": "02", "qty": "1", "price": "40.00"},
        {"code": "XS01", "name": "一般诊疗费", "kind": "service", "chrgitm_lv": "01", "qty": "1", "price": "10.00"},
    ],
    "history": [],
}


def p90(xs: list[float]) -> float:
    s = sorted(xs)
    # nearest-rank p90
    k = max(0, min(len(s) - 1, -(-9 * len(s) // 10) - 1))
    return s[k]


CPU: dict[str, list[float]] = {}  # command → CPU seconds (user + system) of each timed child process


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def time_runs(cmd: list[str], runs: int, env: dict, check_out=None) -> list[float]:
    out = []
    for _ in range(runs):
        c0 = _children_cpu()
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out.append(time.perf_counter() - t0)
        CPU.setdefault(" ".join(cmd), []).append(_children_cpu() - c0)
        if check_out is not None:
            check_out(r)
    return out


_LOADED_PROBE = """
import runpy, sys
sys.argv = ["desktop_app", "calc", sys.argv[1]]
try:
    runpy.run_module("desktop_app", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
sys.stderr.write("\\nLOADED:" + ",".join(sorted(sys.modules)) + "\\n")
"""


def loaded_modules(claim_file: Path, env: dict) -> set[str]:
    """Every module in sys.modules at the end of a `python -m desktop_app calc FILE` run."""
    r = subprocess.run([sys.executable, "-c", _LOADED_PROBE, str(claim_file)],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    for line in r.stderr.splitlines():
        if line.startswith("LOADED:"):
            return set(line[len("LOADED:"):].split(","))
    raise RuntimeError(f"module probe failed: {r.stderr[-500:]}")


def import_report(claim_file: Path, env: dict) -> tuple[list[str], list[tuple[int, str]], int]:
    """From `-X importtime`: (top-level names logged, [(cumulative µs, module)] largest first, exit code).

    `-X importtime` also logs imports that were attempted and failed (e.g. `nt`,
    `_winapi` probed by the standard library on Linux); the caller cross-checks
    with `loaded_modules`.
    """
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "desktop_app", "calc", str(claim_file)],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    tops: dict[str, None] = {}
    cums: list[tuple[int, str]] = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:"):].split("|")
        if len(parts) != 3:
            continue
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        mod = name.strip()
        tops[mod.split(".")[0]] = None
        if depth <= 1:
            try:
                cums.append((int(parts[1]), mod))
            except ValueError:
                pass
    cums.sort(reverse=True)
    return sorted(tops), cums, r.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--claim", help="claim JSON file (default: contract worked example 1)")
    args = ap.parse_args(argv)

    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 0
    print(f"date: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"CPU: {cpu_model()} ({cores} usable cores); Python {platform.python_version()}; "
          f"{platform.system()} {platform.release()}")
    print(f"python: {sys.executable}")

    # an installed program has its .pyc; this shell may run with PYTHONDONTWRITEBYTECODE=1, so compile once
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "desktop_app")], check=True)
    with tempfile.TemporaryDirectory(prefix="bench_calc_") as tmp:
        if args.claim:
            claim_file = Path(args.claim).resolve()
        else:
            claim_file = Path(tmp) / "example1.json"
            claim_file.write_text(json.dumps(EXAMPLE_1, ensure_ascii=False), encoding="utf-8")
        calc_cmd = [sys.executable, "-m", "desktop_app", "calc", str(claim_file)]
        bare_cmd = [sys.executable, "-c", "pass"]
        print(f"command: {' '.join(calc_cmd)}")

        first = subprocess.run(calc_cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        print(f"exit code: {first.returncode}; stdout: {first.stdout.strip()[:160]}"
              f"{'…' if len(first.stdout.strip()) > 160 else ''}")
        if first.returncode not in (0, 3):
            print(first.stderr, file=sys.stderr)
            return 1
        if not args.claim:
            res = json.loads(first.stdout)
            ok = res.get("hifp_pay") == "58.80" and res.get("psn_cash_pay") == "41.20"
            print(f"worked example 1 check (hifp_pay 58.80, psn_cash_pay 41.20): {'ok' if ok else 'MISMATCH'}")

        def check(r):
            if r.returncode != first.returncode:
                raise SystemExit(f"calc exit code changed: {r.returncode}\n{r.stderr.decode(errors='replace')}")

        time_runs(calc_cmd, args.warmup, env, check)
        time_runs(bare_cmd, args.warmup, env)
        calc_t, bare_t = [], []
        for _ in range(args.runs):  # interleaved: a change in load hits both alike
            calc_t += time_runs(calc_cmd, 1, env, check)
            bare_t += time_runs(bare_cmd, 1, env)

        print()
        print(f"{'':28s}{'median':>9s}{'p90':>9s}{'min':>9s}   (seconds, {args.runs} runs after {args.warmup} warm-up)")
        for label, ts in (("clinic-settle calc", calc_t), ("bare interpreter (-c pass)", bare_t)):
            print(f"{label:28s}{statistics.median(ts):9.3f}{p90(ts):9.3f}{min(ts):9.3f}")
        ratio = statistics.median(calc_t) / statistics.median(bare_t)
        print(f"ratio calc / bare (median):  {ratio:.1f}x; calc overhead over bare interpreter "
              f"{statistics.median(calc_t) - statistics.median(bare_t):.3f} s")
        med = statistics.median(calc_t)
        print(f"target median <= {TARGET_MEDIAN} s: {'PASS' if med <= TARGET_MEDIAN else 'ABOVE TARGET'} ({med:.3f} s)")
        print(f"goal of issue #16, calc <= {GOAL_RATIO}x the bare interpreter: "
              f"{'MET' if ratio <= GOAL_RATIO else 'NOT MET'} ({ratio:.2f}x)")
        c_calc = statistics.median(CPU[" ".join(calc_cmd)][-args.runs:])
        c_bare = statistics.median(CPU[" ".join(bare_cmd)][-args.runs:])
        print(f"CPU time (user + system) of the process, median: calc {c_calc:.3f} s, bare {c_bare:.3f} s, "
              f"ratio {c_calc / c_bare:.2f}x (less disturbed than wall time on a loaded machine)")

        logged, cums, rc = import_report(claim_file, env)
        loaded = loaded_modules(claim_file, env)
        loaded_tops = {m.split(".")[0] for m in loaded}
        tops = [m for m in logged if m in loaded_tops]
        failed = [m for m in logged if m not in loaded_tops]
        print()
        print(f"-X importtime (exit {rc}): {len(tops)} top-level modules imported by the calc path "
              f"({len(loaded)} modules in sys.modules at exit, interpreter start-up included):")
        print("  " + ", ".join(tops))
        if failed:
            print(f"  (also logged by -X importtime but not loaded — failed optional probes: {', '.join(failed)})")
        bad = sorted({m for m in loaded_tops | set(tops) if m in FORBIDDEN})
        print(f"PySide6 imported: {'YES' if 'PySide6' in bad else 'no'}; "
              f"sqlalchemy imported: {'YES' if 'sqlalchemy' in bad else 'no'}; "
              f"any of {', '.join(FORBIDDEN)}: {', '.join(bad) if bad else 'none'}")
        print("largest imports by cumulative time (top level and direct children):")
        for us, mod in cums[:8]:
            print(f"  {us / 1000:8.1f} ms  {mod}")
        return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
