"""Money-field labels and trace-step names have one home (core/model.py) and cover what the engine writes."""

import ast
from pathlib import Path

import pytest

from desktop_app.core.model import FIELD_STEPS, MONEY_FIELDS, MONEY_LABELS, MONEY_SHORT, TRACE_STEPS

CORE = Path(__file__).resolve().parents[2] / "desktop_app" / "core"
ENGINE = [CORE / f for f in ("engine.py", "eligibility.py", "lines.py")]  # the engine's steps live here


def _engine_steps() -> set[str]:
    steps = set()
    nodes = [n for f in ENGINE for n in ast.walk(ast.parse(f.read_text(encoding="utf-8")))]
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = node.args
            if node.func.id == "TraceStep" and args and isinstance(args[0], ast.Constant):
                steps.add(args[0].value)
            if node.func.id == "_cap_reached" and len(args) > 1 and isinstance(args[1], ast.Constant):
                steps.add(args[1].value)
    return steps


def test_every_money_field_has_a_long_and_a_short_label():
    assert list(MONEY_LABELS) == list(MONEY_FIELDS)
    assert list(MONEY_SHORT) == list(MONEY_FIELDS)


@pytest.mark.reads_source
def test_trace_steps_are_the_ones_the_engine_writes():
    assert _engine_steps() == set(TRACE_STEPS)
    assert len(set(TRACE_STEPS)) == len(TRACE_STEPS)


def test_field_steps_name_money_fields_and_known_steps():
    assert set(FIELD_STEPS) <= set(MONEY_FIELDS)
    assert {s for steps in FIELD_STEPS.values() for s in steps} <= set(TRACE_STEPS)


@pytest.mark.reads_source
def test_notice_reasons_are_the_ones_the_engine_writes():
    """Every reason a Notice carries (the code list of the contract is fixed; the reason says which rule)
    has a Chinese label in NOTICE_REASONS, and every label is used."""
    from desktop_app.core.model import NOTICE_REASONS

    used = set()
    for f in ENGINE:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in NOTICE_REASONS:
                used.add(node.value)
    assert used == set(NOTICE_REASONS)
