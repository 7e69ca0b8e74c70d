"""Issue 11: an accepted suggestion changes the routing of a similar message after
retraining. The real Rasa server: the session's shared model (the shipped project)
routes a message to the wrong team; an employee transfers it to the right one; the
suggestion is accepted with the command line into a copy of the project, which is
trained once and served; a similar message (other words) now reaches the right team."""

import asyncio
import shutil
from pathlib import Path

import pytest

from nlu import Classification, RasaClassifier
from nlu.server import RasaServer
from nlu.service import NluService, environment
from nlu.training import PROJECT, RasaProject
from routing import Target
from routing.intents import intents_to
from tests.bot.test_cli import frontdesk
from tests.fakes.harness import Harness

# (what a customer wrote, the team it belongs to, the intent that fitted (picked in the
# transfer menu when the team has several), something similar another customer writes
# later). Phrasings the shipped data does not cover; the first pair the shared model
# sends elsewhere is used, so the test holds whichever pipeline trained it.
CANDIDATES = [
    ("will you buy back my old tent when I get a new one", "sales", "sales",
     "can you buy back my old stove when I buy a new one"),
    ("do you take part-exchange on old kayaks", "sales", "sales",
     "can I part-exchange my old kayak with you"),
    ("I need a pro forma for our purchase order", "billing", "billing",
     "can you send a pro forma for the purchase order"),
    ("is the kwyjibo range back yet", "sales", "sales", "when is the kwyjibo range coming back"),
]  # fmt: skip


async def team_reached(database: Path, text: str, meaning: Classification) -> str | None:
    """The team of the person the core gives a new customer's `text` to, with `meaning`
    as the NLU's answer (None: the bot asked what it is about instead)."""
    url = f"sqlite:///{database}"
    async with Harness(database.parent, meanings={text: meaning}, database_url=url) as harness:
        await harness.customer("someone").says(text)
        if not harness.desk.cards:
            return None
        view = harness.desk.cards[-1][1]
        return view.team.id if view.team else view.employee.teams[0]


async def misrouted(
    shared: RasaClassifier, tmp_path: Path
) -> tuple[tuple[str, str, str, str], Classification]:
    """The first candidate whose message and similar message the shared model both
    send elsewhere (or is unsure about: a message it already routes right would be
    transferred nowhere), and what it made of the similar one."""
    for n, candidate in enumerate(CANDIDATES):
        meanings = [await shared.classify(candidate[i]) for i in (0, 3)]
        reached = [
            await team_reached(tmp_path / f"before-{n}-{i}.db", candidate[i], meaning)
            for i, meaning in zip((0, 3), meanings, strict=True)
        ]
        if candidate[1] not in reached:
            return candidate, meanings[1]
    pytest.fail("the shared model routes every candidate right: add a harder one")


async def test_an_accepted_suggestion_changes_the_routing_of_a_similar_message(
    tmp_path: Path, nlu_service: NluService
) -> None:
    shared = nlu_service.classifier
    (text, team, intent, similar), before = await misrouted(shared, tmp_path)

    # A customer writes; whoever gets it transfers it to the team it belongs to.
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    async with Harness(tmp_path, database_url=url) as harness:
        harness.nlu.meanings[text] = await shared.classify(text)
        customer = harness.customer("ada")
        await customer.says(text)
        if not harness.desk.cards:  # asked what it is about, or for an order number
            await customer.says(harness.config.triage.texts.something_else)
        spot, view = harness.desk.cards[-1]
        several = len(intents_to(harness.config, Target(team=team))) > 1  # picked in the menu
        picked = intent if several else None
        await harness.employee(view.employee.id).transfers(Target(team=team), spot, intent=picked)

    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    listed = frontdesk("nlu", "suggestions", DATABASE_URL=url)
    assert listed.stdout.splitlines()[1].startswith(f"#1     {intent}, 1 time"), listed
    accepted = frontdesk(
        "nlu", "suggestions", "--accept", "1", "--project", str(root), DATABASE_URL=url
    )
    assert accepted.returncode == 0, accepted.stderr

    # Retrained once, with the accepted example; served; asked about the similar message.
    env = await asyncio.to_thread(environment(nlu_service.home).ensure, print)
    project = RasaProject(root)
    model = await asyncio.to_thread(project.ensure_model, env, tmp_path / "models", print)
    server = RasaServer(env, model, log_file=tmp_path / "rasa.log")
    async with server:
        client = RasaClassifier([server.url], timeout=30.0)
        after = await client.classify(similar)
        await client.aclose()

    assert await team_reached(tmp_path / "after.db", similar, after) == team, (before, after)
