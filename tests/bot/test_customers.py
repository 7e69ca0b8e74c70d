"""What customers do, through the core in memory: returning, writing while triage runs,
writing twice, an NLU outage, linking two channels, a desk that is not connected yet,
and a crash right after a handoff commits."""

import asyncio
from pathlib import Path

from bot.customers import Received
from bot.delivery import Delivery
from bot.desk import DeskWork
from bot.jobs import Deliver, OpenCard, PostInThread, Triage
from bot.outbox import Outbox
from bot.store import queue
from bot.store.conversations import conversation, open_conversation
from tests.fakes.harness import FakeDesk, Harness

CHARGED = "I was charged twice for my subscription this month"
AGAIN = "I have another question about a payment on my invoice"


async def test_a_returning_customer_goes_back_to_the_same_person(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        first = harness.desk.cards[-1][1].employee.id
        await harness.employee(first).closes()
        await ada.says(AGAIN)
        assert "Welcome back!" in ada.saw[-1]
        assert "who helped you last time" in ada.saw[-1]
        card = harness.desk.cards[-1][1]
        assert card.employee.id == first
        assert [e.intent for e in card.earlier] == ["billing"]
        assert any(r.startswith("Rule 'refunds") for r in card.reasons)


async def test_what_the_customer_writes_during_triage_follows_the_card(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED, settle=False)
        await ada.says("and please hurry", settle=False)
        await harness.settle()
        spot, card = harness.desk.cards[-1]
        assert [line.text for line in card.transcript if line.kind == "customer"] == [CHARGED]
        assert harness.desk.in_thread(spot) == ["and please hurry"]
        assert harness.nlu.asked == [CHARGED]  # the second is not triaged again


async def test_a_message_delivered_twice_is_stored_and_handled_once(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        customer = await harness.customer("ada").id()
        received: list[Received] = []
        for _ in range(2):
            received.append(await harness.customers.receive(customer, "chat", CHARGED, "m-1"))
        await harness.settle()
        assert [r.duplicate for r in received] == [False, True]
        assert received[0].message.id == received[1].message.id
        assert len(harness.desk.cards) == 1
        assert harness.nlu.asked == [CHARGED]


async def test_with_the_nlu_down_the_customer_is_told_and_still_reaches_a_person(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path) as harness:
        harness.nlu.down = True
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        assert "straight to a person" in ada.saw[1]
        assert "Sam Rivera" in ada.saw[2]  # the fallback team's first free person
        card = harness.desk.cards[-1][1]
        assert card.intent is None
        assert card.rule is None  # the fallback


async def test_a_link_code_makes_two_channels_one_customer(tmp_path: Path) -> None:
    async with Harness(tmp_path) as harness:
        site, chat = harness.customer("site-visitor"), harness.customer("chat-42")
        await site.says(CHARGED)
        url = await harness.customers.invitation(await site.id(), "chat")
        code = url.partition("code=")[2]
        await chat.starts(code)
        assert "now linked" in chat.saw[-1]
        await chat.says("any news?")
        spot = harness.desk.cards[-1][0]
        assert harness.desk.in_thread(spot) == ["any news?"]  # the same open conversation
        await chat.starts(code)  # used already
        assert "expired or was already used" in chat.saw[-1]
        assert await chat.id() == await site.id()


async def test_without_a_desk_handoffs_wait_and_go_out_once_it_is_connected(
    tmp_path: Path,
) -> None:
    async with Harness(tmp_path, desk=False) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        await ada.says("hello?")
        assert "will answer you here" in ada.saw[-1]
        assert harness.desk.cards == []
        harness.connect_desk()
        await harness.settle()
        spot, card = harness.desk.cards[-1]
        assert card.employee.id == "priya"
        assert harness.desk.in_thread(spot) == ["hello?"]


async def test_with_no_desk_yet_an_employees_reply_still_reaches_the_customer(
    tmp_path: Path,
) -> None:
    """The console's demo: no desk connected, so the card waits, stored; the reply an
    admin writes as the employee is delivered all the same: what goes to the customer
    does not queue behind what goes to the desk."""
    async with Harness(tmp_path, desk=False) as harness:
        ada = harness.customer("ada")
        await ada.says(CHARGED)
        customer_id = await ada.id()
        found = await harness.query(lambda c: open_conversation(c, customer_id))
        written = await harness.employees.write(found.id, "priya", "Refunded!", "console:1")
        assert written == "delivered"
        await harness.settle()
        assert ada.saw[-1] == "Priya Sharma: Refunded!"
        assert harness.desk.cards == []


async def test_a_crash_right_after_the_handoff_commits_does_not_repeat_the_first_message(
    tmp_path: Path,
) -> None:
    """The process dies the moment the handoff is committed (the card not yet posted).
    On restart the triage must not run again: if it did, it would find the
    conversation handed off and post the first message into the thread beside the
    card that already shows it."""
    async with Harness(tmp_path) as harness:
        crashed, hang = asyncio.Event(), asyncio.Event()

        async def hanging_card(work: object) -> None:
            await hang.wait()  # the desk is slow: the card is not out when we die

        def die_after_the_commit(news: str) -> None:
            # News goes out right after a commit. The first from a job (the outbox names
            # its tasks) is the triage's handoff: the instance dies there, so the job
            # gets no further than that commit.
            task = asyncio.current_task()
            if task is not None and task.get_name().startswith("outbox-job"):
                task.cancel()
                crashed.set()

        harness.outbox.handle(OpenCard, hanging_card)  # type: ignore[arg-type]
        harness.news.subscribe("customer", die_after_the_commit)
        ada = harness.customer("ada")
        await ada.says(CHARGED, settle=False)
        async with asyncio.timeout(10):
            await crashed.wait()
        await harness.outbox.stop()  # nothing more from this instance
        assert (await harness.query(lambda c: conversation(c, 1))).status == "waiting"
        async with harness.store.reading() as connection:
            triage = [job for job in await queue.jobs(connection, "done") if job.kind == "triage"]
        assert [job.attempts for job in triage] == [1]  # its completion committed with it

        restarted = Outbox(harness.store, harness.metrics, harness.news, clock=harness.clock)
        desk = FakeDesk()
        work = DeskWork(harness.conversations, desk)
        restarted.handle(OpenCard, work.open_card)
        restarted.handle(PostInThread, work.post_message)
        restarted.handle(Deliver, Delivery(harness.conversations).deliver)
        restarted.handle(Triage, harness.customers.triage)
        harness.clock.advance(seconds=60)  # past the dead instance's lease
        while await restarted.run_due():
            pass
        spot, card = desk.cards[-1]
        assert len(desk.cards) == 1
        assert [line.text for line in card.transcript if line.kind == "customer"] == [CHARGED]
        assert desk.in_thread(spot) == []
