"""In-process throughput of the settlement engine (`settle`) on one core.

    .venv/bin/python bench/bench_engine.py            # 100,000 generated claims
    .venv/bin/python bench/bench_engine.py --n 20000 --seed 7

1. generates `--n` claims with bench/claimgen.py (deterministic, `--seed`);
2. parses all of them with `parse_claim` (not timed);
3. times `settle` over all of them in one loop, single process
   (`time.perf_counter`); claims the packs cannot settle raise `PolicyError`
   (contract exit 3) and are counted — that is part of the mix by design;
4. times parse_claim + settle + settlement_to_json over all of them
   (what `clinic-settle calc --batch` does per line, minus JSON text I/O).

Target: ≥ 5,000 claims/s for `settle`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from claimgen import generate  # noqa: E402

from desktop_app.core.claim_io import InvalidInput, parse_claim, settlement_to_json  # noqa: E402
from desktop_app.core.engine import PolicyError, settle  # noqa: E402
from desktop_app.core.pack_files import load_policy  # noqa: E402

TARGET = 5000.0


def machine_line() -> str:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 0
    return (f"CPU: {cpu_model()} ({cores} usable cores, {os.cpu_count()} logical); "
            f"Python {platform.python_version()} ({platform.python_implementation()}); "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="number of claims (default 100000)")
    ap.add_argument("--seed", type=int, default=20240610, help="generator seed")
    ap.add_argument("--profile", metavar="OUT.prof",
                    help="also run settle() under cProfile and write the stats here")
    args = ap.parse_args(argv)
    n = args.n

    print(f"date: {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(machine_line())
    print(f"python: {sys.version.split()[0]}  executable: {sys.executable}")

    policy = load_policy()

    t0 = time.perf_counter()
    raws = generate(n, args.seed)
    t_gen = time.perf_counter() - t0

    t0 = time.perf_counter()
    parsed = []
    invalid = 0
    for raw in raws:
        try:
            parsed.append(parse_claim(raw))
        except InvalidInput:
            invalid += 1
    t_parse = time.perf_counter() - t0
    print(f"generated {n} claims in {t_gen:.2f} s (seed {args.seed}); parsed in {t_parse:.2f} s; "
          f"invalid_input: {invalid}")

    # Warm-up: build the per-region pack chains (cached by PolicySet) and the code paths.
    for claim, history in parsed[:2000]:
        try:
            settle(claim, history, policy)
        except PolicyError:
            pass

    # ---- settle only ------------------------------------------------------
    exit3 = 0
    by_code: dict[str, int] = {}
    gc.collect()
    t0 = time.perf_counter()
    for claim, history in parsed:
        try:
            settle(claim, history, policy)
        except PolicyError as exc:
            exit3 += 1
            by_code[exc.code] = by_code.get(exc.code, 0) + 1
    t_settle = time.perf_counter() - t0
    m = len(parsed)
    rate = m / t_settle
    print()
    print(f"settle:               {m} claims in {t_settle:.3f} s  ->  {rate:,.0f} claims/s, "
          f"{t_settle / m * 1e6:.1f} us/claim")
    print(f"  exit 0 (computed):  {m - exit3}")
    print(f"  exit 3 (PolicyError): {exit3}  "
          + ", ".join(f"{k}={v}" for k, v in sorted(by_code.items())))

    # computed-only rate, so the cheap early exit-3 claims do not flatter the figure
    ok = []
    for claim, history in parsed:
        try:
            settle(claim, history, policy)
            ok.append((claim, history))
        except PolicyError:
            pass
    gc.collect()
    t0 = time.perf_counter()
    for claim, history in ok:
        settle(claim, history, policy)
    t_ok = time.perf_counter() - t0
    print(f"settle (exit-0 only): {len(ok)} claims in {t_ok:.3f} s  ->  {len(ok) / t_ok:,.0f} claims/s, "
          f"{t_ok / len(ok) * 1e6:.1f} us/claim")

    # ---- parse + settle + to_json ---------------------------------------
    gc.collect()
    t0 = time.perf_counter()
    for raw in raws:
        try:
            claim, history = parse_claim(raw)
            settlement_to_json(settle(claim, history, policy))
        except (InvalidInput, PolicyError):
            pass
    t_full = time.perf_counter() - t0
    print(f"parse+settle+to_json: {n} claims in {t_full:.3f} s  ->  {n / t_full:,.0f} claims/s, "
          f"{t_full / n * 1e6:.1f} us/claim")

    print()
    verdict = "PASS" if rate >= TARGET else "BELOW TARGET"
    print(f"target >= {TARGET:,.0f} claims/s for settle: {verdict} ({rate:,.0f})")

    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for claim, history in parsed:
            try:
                settle(claim, history, policy)
            except PolicyError:
                pass
        prof.disable()
        prof.dump_stats(args.profile)
        print()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
