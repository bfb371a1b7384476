"""Mutation run (issue #19): `make mutate [MODULES="core services"]`.

Copies the tracked files of the project into a scratch folder (the working tree is never touched), writes a
`[tool.mutmut]` section there for the chosen layers, runs mutmut 3 with the fast tests (no bundle build,
no kill harness, no real window: mutmut maps each mutated function to the tests that call it in-process,
so a CLI test that starts a subprocess never counts), and writes the scores per module and the surviving
mutants into docs/mutation-run.md. docs/testing.md explains how to read it; equivalent mutants (behaviour
identical) are listed with their reason in tools/mutation_equivalent.txt and left out of the score.

    python tools/mutate.py core services      # layers under desktop_app/
    python tools/mutate.py --report-only      # rewrite docs/mutation-run.md from the last run
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("CLINIC_SETTLE_MUTATE_DIR", "/tmp/clinic-settle-mutate"))
LAYERS = ("core", "services", "reports", "gui")
GOALS = {"core": 90, "services": 90, "reports": 80, "gui": 80}
# the fast suite: everything but what builds bundles, kills processes or needs a real X display
TESTS = ["tests/core", "tests/services", "tests/reports", "tests/gui", "tests/store", "tests/integrity",
         "tests/attacks", "-m", "not slow and not realwin and not reads_source"]
EQUIVALENT = ROOT / "tools" / "mutation_equivalent.txt"
REPORT = ROOT / "docs" / "mutation-run.md"
# a mutant's name: desktop_app.core.caps.x_cap_left__mutmut_3 or desktop_app.gui.x.xǁClassǁmethod__mutmut_2
NAME = re.compile(r"^(?P<module>desktop_app(?:\.\w+)+?)\.x(?:_|ǁ)(?P<func>.+?)__mutmut_(?P<n>\d+)$")


def copy_tree(globs_: list[str]) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.splitlines()
    if SCRATCH.exists():
        shutil.rmtree(SCRATCH)
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            dst = SCRATCH / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    globs = ", ".join(f'"{g}"' for g in globs_)
    tests = ", ".join(f'"{t}"' for t in TESTS)
    with open(SCRATCH / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write(f"""
[tool.mutmut]
source_paths = ["desktop_app/"]
only_mutate = [{globs}]
pytest_add_cli_args_test_selection = [{tests}]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]
also_copy = ["resources/", "db/", "docs/", "bench/", "scripts/", "installer/", "setup.py", "README.md", "Makefile"]
""")


def run(globs: list[str]) -> None:
    copy_tree(globs)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    mutmut = Path(sys.executable).with_name("mutmut")
    children = os.environ.get("MUTATE_CHILDREN")  # e.g. 1 on a machine shared with other work
    extra = ["--max-children", children] if children else []
    subprocess.run([str(mutmut), "run", *extra], cwd=SCRATCH, env=env, check=False)


def results() -> list[tuple[str, str]]:
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run([str(mutmut), "results", "--all", "true"], cwd=SCRATCH, check=True,
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        if ":" in line:
            name, status = line.strip().rsplit(":", 1)
            rows.append((name.strip(), status.strip()))
    return rows


def equivalent() -> dict[str, str]:
    """name → reason, from tools/mutation_equivalent.txt (`name  # reason`)."""
    out = {}
    if EQUIVALENT.exists():
        for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition("#")
                out[name.strip()] = reason.strip()
    return out


def report(rows: list[tuple[str, str]]) -> str:
    eq = equivalent()
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    survivors: dict[str, list[str]] = defaultdict(list)
    for name, status in rows:
        m = NAME.match(name)
        module = m.group("module") if m else name.rsplit(".", 1)[0]
        if name in eq:
            per[module]["equivalent"] += 1
            continue
        per[module][status] += 1
        if status in ("survived", "no tests"):
            survivors[module].append(f"{name} ({status})")
    lines = [f"# Mutation run — {dt.date.today().isoformat()}", "",
             "Written by `make mutate` (tools/mutate.py, mutmut 3); how to read it: docs/testing.md.", "",
             "| module | mutants | killed | survived | no tests | timeout | equivalent | score |",
             "|---|---|---|---|---|---|---|---|"]
    layer_tot: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for module in sorted(per):
        c = per[module]
        detected = c["killed"] + c["timeout"] + c["suspicious"]
        counted = detected + c["survived"] + c["no tests"]
        layer = module.split(".")[1]
        layer_tot[layer][0] += detected
        layer_tot[layer][1] += counted
        score = f"{100 * detected / counted:.1f} %" if counted else "—"
        lines.append(f"| {module} | {sum(c.values())} | {c['killed']} | {c['survived']} | {c['no tests']} | "
                     f"{c['timeout']} | {c['equivalent']} | {score} |")
    lines += ["", "| layer | score | goal |", "|---|---|---|"]
    for layer, (d, n) in sorted(layer_tot.items()):
        lines.append(f"| {layer} | {100 * d / n:.1f} % ({d}/{n}) | ≥ {GOALS.get(layer, 80)} % |" if n else
                     f"| {layer} | — | ≥ {GOALS.get(layer, 80)} % |")
    lines += ["", "## Surviving mutants", "",
              "`mutmut show NAME` in the scratch folder shows the diff of one."]
    for module in sorted(survivors):
        lines += ["", f"### {module}", ""] + [f"- {s}" for s in survivors[module]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("layers", nargs="*", help=f"layers under desktop_app/ (default: all of {LAYERS})")
    p.add_argument("--only", action="append", default=[],
                   help="glob of files to mutate instead of whole layers, e.g. desktop_app/core/caps.py")
    p.add_argument("--report-only", action="store_true")
    a = p.parse_args(argv)
    a.layers = a.layers or list(LAYERS)
    bad = [x for x in a.layers if x not in LAYERS]
    if bad:
        p.error(f"unknown layer {bad}: choose from {LAYERS}")
    if not a.report_only:
        run(a.only or [f"desktop_app/{layer}/*" for layer in a.layers])
    REPORT.write_text(report(results()), encoding="utf-8")
    print(f"written {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
