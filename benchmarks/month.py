"""A realistic month of history for the console's screenshots (tests/browser, with
CONSOLE_SCREENSHOTS=1): several hundred conversations of named customers, most of them
returning, topics in proportion routed to the team their rule names, first replies
after waits from a minute to hours, a few transfers, some messages the bot was unsure
of, a few angry ones, and the newest conversations of the day still waiting for a
reply. Rows only; benchmarks/seeding.write stores them."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from benchmarks.seeding import History, Rows
from routing import Employee, RoutingConfig

CONVERSATIONS, CUSTOMERS, DAYS, WAITING = 720, 260, 60, 7
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jamal",
         "Kate", "Luis", "Maja", "Noah", "Olu", "Pia", "Quinn", "Rosa", "Sven", "Tara"]  # fmt: skip
LAST = ["Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Gomez", "Hansen", "Ito",
        "Jones", "Klein", "Lopez", "Moreau", "Nowak", "Okoro", "Patel"]  # fmt: skip
SAID = {  # intent: (weight, team, rule, what customers write)
    "order_status": (30, "orders", "orders and delivery", [
        "Where is my order 48213? It said two days.", "My parcel has not arrived yet",
        "Can you tell me when order 55120 ships?", "Tracking has not moved since Monday"]),
    "refund": (11, "billing", "refunds, invoices and subscriptions", [
        "I returned the shoes, when do I get my money back?", "I'd like a refund for order 39017",
        "The refund still isn't on my card"]),
    "billing": (11, "billing", "refunds, invoices and subscriptions", [
        "I was charged twice this month", "Can I get an invoice with our VAT number?",
        "Why did my plan price go up?"]),
    "cancel_subscription": (6, "billing", "refunds, invoices and subscriptions", [
        "Please cancel my subscription", "How do I stop the monthly box?"]),
    "technical_support": (14, "support", "app, website and log-in", [
        "The app crashes when I open my basket", "Checkout button does nothing on Safari",
        "Photos don't upload in the app"]),
    "account_access": (8, "support", "app, website and log-in", [
        "I can't log in, the reset email never comes", "My account is locked"]),
    "sales": (8, "sales", "buying from us", [
        "Do you offer volume discounts for 50 units?", "Can we get a quote for our office?"]),
    "complaint": (5, "support", "complaints to a manager", [
        "This is the third time I ask and nobody helps. Terrible service.",
        "Awful experience, the courier was rude and the box was broken"]),
    "out_of_scope": (4, "support", None, [
        "do you sell gift cards in Lisbon stores", "is the warehouse hiring drivers",
        "what's your opinion on the new tram line"]),
}  # fmt: skip
ANGRY = "This is unacceptable. I have waited a week and I am very angry, worst shop ever."
THANKS = ["Thanks, that helped!", "Great, thank you so much", "ok", "Perfect, thanks Priya"]
UNSURE = ["hello?? my thing", "problem with the stuff from last time", "it doesnt work"]


def month(now: datetime, config: RoutingConfig, seed: int = 11) -> Rows:
    rng, made = random.Random(seed), History()
    teams = {t.id: [e for e in config.employees if t.id in e.teams] for t in config.teams}
    made.customers = [
        {"id": i, "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
         "language": "de" if rng.random() < 0.1 else "en",
         "tags": ["vip"] if rng.random() < 0.03 else [], "created_at": now - timedelta(days=90)}
        for i in range(1, CUSTOMERS + 1)
    ]  # fmt: skip
    arrivals = sorted(
        [_arrival(rng, now) for _ in range(CONVERSATIONS - WAITING)]
        + [now - timedelta(minutes=rng.uniform(5, 150)) for _ in range(WAITING)]
    )
    weights = [w for w, *_ in SAID.values()]
    previous: dict[int, str] = {}  # customer: their last person
    busy_until: dict[int, datetime] = {}  # customer: when their conversation closes
    for at in arrivals:
        customer = rng.randint(1, CUSTOMERS)
        if busy_until.get(customer, at) > at:
            continue  # one open conversation per customer
        intent = rng.choices(list(SAID), weights)[0]
        _, team, rule, texts = SAID[intent]
        members = teams[team]
        usual = previous.get(customer)
        sticky = usual in {e.id for e in members} and rng.random() < 0.85
        person = usual if sticky and usual else rng.choice(members).id
        if sticky:
            reasons = [f"Returning customer: back to {config.employee(person).name}."]
        elif usual in {e.id for e in members}:
            reasons = [_missed(rng, config, usual)]
        else:  # a new customer, or one whose topic is another team's
            reasons = [f"Rule {rule!r}: team {team}."]
        recent = now - at < timedelta(hours=3)
        reply = None if recent and rng.random() < 0.8 else at + _wait(rng)
        closed = None if recent else (reply or at) + timedelta(minutes=rng.randint(5, 300))
        busy_until[customer] = closed or now + timedelta(days=1)
        unsure = rng.random() < 0.07
        number = made.conversation(
            customer,
            at,
            intent,
            closed,
            person,
            rng.uniform(0.3, 0.55) if unsure else rng.uniform(0.7, 0.99),
        )
        words = rng.choice(UNSURE) if unsure else rng.choice(texts)
        made.say(number, ANGRY if rng.random() < 0.04 else words, at)
        replied = (reply - at).total_seconds() if reply else None
        made.assign(number, person, at + timedelta(seconds=20), team_id=team, rule=rule,
                    reasons=reasons, first_reply_at=reply, first_reply_seconds=replied,
                    ended_at=closed)  # fmt: skip
        if reply:
            name = config.employee(person).name.split()[0]
            made.say(number, f"Hi, {name} here: I'm looking into it now.", reply, person)
            if closed and rng.random() < 0.05:
                _transfer(rng, made, config, number, person, reply, closed, teams)
            elif closed and rng.random() < 0.4:
                made.say(number, rng.choice(THANKS), reply + timedelta(minutes=3))
        previous[customer] = made.conversations[-1]["employee_id"]
    return made.rows()


def _arrival(rng: random.Random, now: datetime) -> datetime:
    """Mostly in European working hours on weekdays; fewer at the weekend."""
    while True:
        at = now - timedelta(days=rng.uniform(0, DAYS))
        at = at.replace(hour=int(min(max(rng.gauss(12.5, 3), 6), 21)))
        if at < now and (at.weekday() < 5 or rng.random() < 0.3):
            return at


def _wait(rng: random.Random) -> timedelta:
    return timedelta(seconds=min(rng.lognormvariate(6.0, 1.1), 6 * 3600))  # median ~7 min


def _missed(rng: random.Random, config: RoutingConfig, usual: str) -> str:
    name = config.employee(usual).name if config.has_employee(usual) else usual
    why = rng.choice([f"{name} is outside working hours", f"{name} is away",
                      f"{name} is at their limit of 6 open conversations"])  # fmt: skip
    return f"This customer's usual person is unavailable: {why}."


def _transfer(rng: random.Random, made: History, config: RoutingConfig, number: int,
              person: str, at: datetime, closed: datetime,
              teams: dict[str, list[Employee]]) -> None:  # fmt: skip
    """The person passes the conversation to another team, which answers it."""
    team = rng.choice([t for t in teams if person not in {e.id for e in teams[t]}])
    target = rng.choice(teams[team]).id
    made.assignments[-1]["ended_at"] = at + timedelta(minutes=2)
    who = config.employee(person).name
    made.assign(number, target, at + timedelta(minutes=2), team_id=team, rule=None,
                reasons=[f"{who} transferred the conversation (team {team})."],
                first_reply_at=at + timedelta(minutes=9), first_reply_seconds=420.0,
                ended_at=closed)  # fmt: skip
    made.conversations[-1]["employee_id"] = target
    made.say(number, "Hello, I'm taking this over from my colleague.", at + timedelta(minutes=9),
             target)  # fmt: skip
