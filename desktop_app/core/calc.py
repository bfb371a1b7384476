"""The what-if calculator of `docs/calc.md`, pure: one parsed claim in, one result out.

No Qt, no database, no files: the same engine the settlement service uses. Reading claims and
writing results (`clinic-settle calc`) is `desktop_app.cli.calc`.
"""

from __future__ import annotations

from desktop_app.core.claim_io import InvalidInput, parse_claim, settlement_to_json
from desktop_app.core.engine import PolicyError, settle
from desktop_app.core.policy import PolicySet
from desktop_app.errors import EXIT_OK


def calc_one(raw: object, policy: PolicySet) -> tuple[int, dict]:
    """One parsed JSON claim → (exit code, result or error object): 0 computed, 2 invalid input,
    3 cannot be settled under the policy (the refusal's exit code)."""
    try:
        claim, history = parse_claim(raw)
        return EXIT_OK, settlement_to_json(settle(claim, history, policy))
    except (InvalidInput, PolicyError) as exc:
        return exc.exit, exc.to_json()
