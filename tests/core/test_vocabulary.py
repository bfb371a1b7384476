"""Money-field labels and trace-step names have one home (core/model.py) and cover what the engine writes."""

import ast
from pathlib import Path

from desktop_app.core.model import FIELD_STEPS, MONEY_FIELDS, MONEY_LABELS, MONEY_SHORT, TRACE_STEPS

ENGINE = Path(__file__).resolve().parents[2] / "desktop_app" / "core" / "engine.py"


def _engine_steps() -> set[str]:
    steps = set()
    for node in ast.walk(ast.parse(ENGINE.read_text(encoding="utf-8"))):
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


def test_trace_steps_are_the_ones_the_engine_writes():
    assert _engine_steps() == set(TRACE_STEPS)
    assert len(set(TRACE_STEPS)) == len(TRACE_STEPS)


def test_field_steps_name_money_fields_and_known_steps():
    assert set(FIELD_STEPS) <= set(MONEY_FIELDS)
    assert {s for steps in FIELD_STEPS.values() for s in steps} <= set(TRACE_STEPS)
