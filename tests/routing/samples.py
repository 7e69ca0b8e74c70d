"""A small config and the NLU vocabulary it is checked against."""

INTENTS = frozenset({"greet", "order_status", "refund", "billing", "complaint", "out_of_scope"})
ENTITIES = frozenset({"order_id", "email"})

SMALL_CONFIG = """\
company: {name: Acme, bot_name: Acme assistant}
triage:
  min_confidence: 0.6
  collect: {order_status: [order_id]}
teams:
  - {id: billing, name: Billing}
  - {id: support, name: Support, slack_channel: C0SUPPORT}
employees:
  - id: priya
    name: Priya Sharma
    title: Billing specialist
    slack_user_id: U0PRIYA
    teams: [billing]
    hours: {timezone: Europe/London, mon-fri: "09:00-17:30"}
  - id: sam
    name: Sam Rivera
    title: Care manager
    slack_user_id: U0SAM
    teams: [support, billing]
    hours: {timezone: America/New_York, mon-fri: "09:00-17:00"}
rules:
  - {name: money, when: {intent: [refund, billing]}, to: {team: billing}}
  - {name: vips, when: {customer_tag: vip}, to: {employee: sam}}
fallback: {team: support}
"""
