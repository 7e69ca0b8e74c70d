"""Why a returning customer did not reach their previous person, read from the reasons
`route` itself writes."""

from dataclasses import replace

import pytest

from routing import EmployeeState, RoutingRequest, route
from routing.reasons import Missed, why_missed
from tests.routing.test_decision import CONFIG, at


@pytest.mark.parametrize(
    ("request_", "state", "hour", "missed"),
    [
        (RoutingRequest("web", "billing", previous_employee="priya"),
         EmployeeState(away=True), 10, "away"),
        (RoutingRequest("web", "billing", previous_employee="priya"),
         EmployeeState(absent="away in the desk"), 10, "away"),
        (RoutingRequest("web", "billing", previous_employee="priya"),
         EmployeeState(open_conversations=2), 10, "at_capacity"),
        (RoutingRequest("web", "billing", previous_employee="priya"),
         EmployeeState(), 20, "off_shift"),
        # A rule for a team Priya is not in; a rule that names someone else.
        (RoutingRequest("web", "order_status", previous_employee="priya"),
         EmployeeState(), 10, "rule_elsewhere"),
        (RoutingRequest("telegram", "billing", previous_employee="priya"),
         EmployeeState(), 10, "rule_elsewhere"),
    ],
)  # fmt: skip
def test_why_the_previous_person_was_missed(
    request_: RoutingRequest, state: EmployeeState, hour: int, missed: Missed
) -> None:
    decision = route(request_, {"priya": state}, CONFIG, at(hour))
    assert decision.employee.id != "priya"
    assert why_missed(decision.reasons) == missed


def test_tomas_unavailable_is_not_taken_for_the_previous_person() -> None:
    # Someone else's unavailability in the reasons does not count as the customer's.
    request = RoutingRequest("telegram", "billing", previous_employee="priya")
    roster = {"tomas": replace(EmployeeState(), away=True)}
    assert why_missed(route(request, roster, CONFIG, at(10)).reasons) == "rule_elsewhere"
