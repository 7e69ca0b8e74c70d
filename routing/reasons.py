"""Reading stored routing reasons back: why a returning customer's decision did not
give them their previous person. The words are those `route` writes (decision.py);
tests/routing/test_reasons.py routes each case, so a change of wording fails there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

# Availability's words for the unavailable, and two more: a rule sent the customer
# somewhere their person is not, or their person is no longer in the config.
Missed = Literal["away", "off_shift", "at_capacity", "rule_elsewhere", "left"]
MISSED: tuple[Missed, ...] = ("away", "off_shift", "at_capacity", "rule_elsewhere", "left")
_UNAVAILABLE = "This customer's usual person is unavailable: "


def why_missed(reasons: Sequence[str]) -> Missed:
    """Why a decision's reasons did not give the customer their previous person (who
    is in the config): unavailable, and how; or a rule sent the customer elsewhere."""
    said = next((r.removeprefix(_UNAVAILABLE) for r in reasons if r.startswith(_UNAVAILABLE)), None)
    if said is None:
        return "rule_elsewhere"
    if " is at their limit of " in said:
        return "at_capacity"
    if " is outside working hours" in said:
        return "off_shift"
    return "away"  # by the flag, or as the desk shows them
