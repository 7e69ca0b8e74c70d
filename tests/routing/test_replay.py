"""The what-if replay: load that grows and shrinks over the period, customers who come
back to the person the replay gave them, and what a candidate config changes."""

from datetime import UTC, datetime, timedelta

from routing import RoutingRequest, parse_config
from routing.replay import FALLBACK, Load, Outcome, PastConversation, Start, compare, replay
from tests.routing.samples import ENTITIES, INTENTS

RUNNING_TEXT = """\
company: {name: Acme, bot_name: Acme assistant}
teams:
  - {id: billing, name: Billing}
  - {id: support, name: Support}
employees:
  - {id: priya, name: Priya, title: Billing, slack_user_id: U01, teams: [billing],
     max_open: 1, hours: {timezone: UTC, mon-sun: "00:00-24:00"}}
  - {id: tomas, name: Tomas, title: Billing, slack_user_id: U02, teams: [billing],
     max_open: 1, hours: {timezone: UTC, mon-sun: "00:00-24:00"}}
  - {id: sam, name: Sam, title: Care, slack_user_id: U05, teams: [support],
     max_open: 9, hours: {timezone: UTC, mon-sun: "00:00-24:00"}}
rules:
  - {name: money, when: {intent: [billing, refund]}, to: {team: billing}}
fallback: {team: support}
"""


def config(text: str = RUNNING_TEXT):  # type: ignore[no-untyped-def]
    return parse_config(text, "test.yml", intents=INTENTS, entities=ENTITIES)


T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def past(
    n: int, minutes: float, intent: str | None = "billing", *, customer: int | None = None,
    closes_after: float | None = None, went_to: str | None = None,
) -> PastConversation:  # fmt: skip
    routed = T0 + timedelta(minutes=minutes)
    closed = routed + timedelta(minutes=closes_after) if closes_after is not None else None
    request = RoutingRequest(channel="web", intent=intent)
    return PastConversation(n, customer or 100 + n, routed, closed, request, went_to)


def test_load_grows_as_conversations_are_assigned_in_the_order_they_came() -> None:
    # Never-assigned ties go in config order; then the one with fewer open conversations.
    run = replay([past(1, 0), past(2, 1), past(3, 2, "complaint")], config())
    assert [o.employee for o in run.outcomes] == ["priya", "tomas", "sam"]
    assert run.outcomes[0] == Outcome("priya", "billing", "money")
    assert run.outcomes[2] == Outcome("sam", "support", FALLBACK)
    assert run.load["priya"] == Load(assigned=1, peak_open=1)


def test_a_closed_conversation_frees_its_place_at_its_close_time() -> None:
    # Priya's first closes after 5 minutes: at minute 10 she holds none, so she is
    # available again and never holds two. Had the close been ignored, both would be
    # at their limit and Priya (assigned longest ago) would hold two.
    run = replay([past(1, 0, closes_after=5), past(2, 1), past(3, 10)], config())
    assert [o.employee for o in run.outcomes] == ["priya", "tomas", "priya"]
    assert run.load["priya"] == Load(assigned=2, peak_open=1)
    unclosed = replay([past(1, 0), past(2, 1), past(3, 10)], config())
    assert unclosed.load["priya"] == Load(assigned=2, peak_open=2)


def test_conversations_open_when_the_period_starts_count_until_they_close() -> None:
    start = Start(open=[("priya", T0 + timedelta(minutes=30))])
    run = replay([past(1, 0), past(2, 31)], config(), start)
    # Priya is at her limit at 10:00, so Tomas; at 10:31 hers has closed and she
    # has waited longer since an assignment than Tomas.
    assert [o.employee for o in run.outcomes] == ["tomas", "priya"]


def test_a_returning_customer_goes_back_to_the_person_the_replay_gave_them() -> None:
    # Customer 7 first reaches Tomas (stored before the period); Tomas frees up, and
    # the customer's next conversation goes to him although Priya has waited longer.
    start = Start(previous={7: "tomas"})
    run = replay([past(1, 0, customer=7, closes_after=1), past(2, 5, customer=7)], config(), start)
    assert [o.employee for o in run.outcomes] == ["tomas", "tomas"]


CANDIDATE_TEXT = RUNNING_TEXT.replace(
    "  - {name: money, when: {intent: [billing, refund]}, to: {team: billing}}\n",
    "  - {name: refunds, when: {intent: refund}, to: {employee: sam}}\n"
    "  - {name: money, when: {intent: billing}, to: {team: billing}}\n",
)


def test_comparing_a_candidate_counts_who_moves_per_rule_and_the_load() -> None:
    history = [
        past(1, 0, "refund", went_to="priya"),
        past(2, 1, "billing", went_to="tomas"),
        past(3, 2, "complaint", went_to="priya"),  # the stored one differs (an away flag?)
    ]
    found = compare(history, config(), config(CANDIDATE_TEXT))
    assert (found.conversations, found.other_person, found.other_team) == (3, 2, 1)
    rules = {r.rule: (r.before, r.after, r.moved) for r in found.rules}
    assert [r.rule for r in found.rules] == ["refunds", "money", FALLBACK]
    # The refund moves from Priya to Sam; with Priya free, the billing one moves to her.
    assert rules == {"refunds": (0, 1, 1), "money": (2, 1, 1), FALLBACK: (1, 1, 0)}
    assert [m.conversation.id for m in found.rules[0].examples] == [1]
    assert found.load["sam"] == (Load(1, 1), Load(2, 2))
    assert found.load["tomas"] == (Load(1, 1), Load(0, 0))
    assert found.as_stored == 2
    assert found.to_fallback == ()


def test_conversations_no_rule_claims_any_more_fall_to_the_fallback() -> None:
    without = RUNNING_TEXT.replace("rules:\n  - {name: money", "rules: []\nold:\n  - {name: money")
    without = without.split("old:")[0] + "fallback: {team: support}\n"
    found = compare([past(1, 0), past(2, 1, "complaint")], config(), config(without))
    assert [m.conversation.id for m in found.to_fallback] == [1]
    assert [(r.rule, r.before, r.after) for r in found.rules] == [(FALLBACK, 1, 2), ("money", 1, 0)]
