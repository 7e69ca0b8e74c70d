"""The `frontdesk` command as a user runs it: a subprocess, real config, real Rasa. The
route dry runs read config.yml with everyone at work, so that whom they name does not
depend on the hour the tests run."""

import asyncio
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from bot.tables import Assignment, Conversation, Customer
from tests.fakes.frontdesk import always_open_config

ROOT = Path(__file__).parent.parent.parent
FRONTDESK = str(Path(sys.executable).parent / "frontdesk")


def frontdesk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FRONTDESK, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "usage", "explains"),
    [
        (["--help"], "usage: frontdesk [-h] COMMAND ...", "route       dry run: who would get this message, and why"),
        (["route", "--help"], "usage: frontdesk route [-h]", "--customer ID         route as this stored customer"),
        (["nlu", "eval", "--help"], "usage: frontdesk nlu eval [-h] [--folds FOLDS] [--test TEST]", "--shots N             train on N examples per intent only"),
    ],
)  # fmt: skip
def test_help_explains_itself(args: list[str], usage: str, explains: str) -> None:
    result = frontdesk(*args)
    assert result.returncode == 0
    assert result.stdout.startswith(usage)
    assert explains in result.stdout


def test_check_config_summarises_a_valid_file() -> None:
    result = frontdesk("check-config")
    assert result.returncode == 0, result.stderr
    assert "config.yml is valid" in result.stdout
    assert "Billing (billing, DMs): Priya Sharma, Tomás García" in result.stdout
    assert "1. VIPs to their manager: customer_tag vip -> employee sam" in result.stdout
    for line in (
        "Triage: clarify below confidence 0.45; collect order_id for order_status, order_id for refund.",
        "Orders & Delivery (orders, DMs): Amara Okafor, Jonas Becker, Mei Chen, Kofi Mensah",
        "4. orders and delivery: intent order_status -> team orders",
        "otherwise -> team support",
    ):
        assert line in result.stdout, line
    assert len(result.stdout.splitlines()) < 40  # one screen


def test_check_config_names_file_line_and_key(tmp_path: Path) -> None:
    broken = (ROOT / "config.yml").read_text().replace("max_open: 8", "max_opn: 8")
    broken = broken.replace("to: {team: sales}", "to: {team: sails}")
    path = tmp_path / "acme.yml"
    path.write_text(broken)
    result = frontdesk("check-config", str(path))
    assert result.returncode == 1
    assert f"{path}:" in result.stderr
    assert "employees[2].max_opn: unknown key; did you mean 'max_open'?" in result.stderr
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "max_opn" in text)
    assert f"{path}:{line}: employees[2].max_opn" in result.stderr


def test_check_config_reads_frontdesk_config(tmp_path: Path) -> None:
    result = frontdesk("check-config", FRONTDESK_CONFIG=str(tmp_path / "nope.yml"))
    assert result.returncode == 1
    assert "nope.yml: cannot read" in result.stderr


def test_route_dry_run_through_the_real_nlu(rasa_url: str, tmp_path: Path) -> None:
    result = frontdesk(
        "route", "--json", "where is my order 12345",
        RASA_URL=rasa_url, DATABASE_URL=f"sqlite:///{tmp_path / 'fd.db'}",
        FRONTDESK_CONFIG=str(always_open_config(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["intent"] == "order_status"
    assert out["confidence"] > 0.6
    assert out["entities"] == [{"name": "order_id", "value": "12345"}]
    assert out["language"] == "en"
    assert out["rule"] == "orders and delivery"
    assert out["team"] == "orders"
    assert out["employee"] == {"id": "amara", "name": "Amara Okafor", "title": "Orders team lead"}
    assert (out["availability"], out["standing_in_for"]) == ("available", None)
    assert out["reasons"] == [
        "Rule 'orders and delivery' matched: intent order_status is one of order_status.",
        "Amara Okafor is available with the fewest open conversations in Orders & Delivery (0);"
        " tied with Jonas Becker, Mei Chen, Kofi Mensah, and listed first in the config.",
    ]


def test_route_as_text_names_everything(rasa_url: str, tmp_path: Path) -> None:
    result = frontdesk(
        "route", "I want a refund for order 98765", "--tag", "vip",
        RASA_URL=rasa_url, DATABASE_URL=f"sqlite:///{tmp_path / 'fd.db'}",
        FRONTDESK_CONFIG=str(always_open_config(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    intent, *lines = result.stdout.splitlines()
    assert intent.startswith("Intent:    refund (")
    assert float(intent.removeprefix("Intent:    refund (").removesuffix(")")) > 0.6
    assert lines == [
        "Entities:  order_id=98765",
        "Language:  en",  # as the NLU read it
        "Rule:      VIPs to their manager",
        "Employee:  Sam Rivera, Customer care manager (available)",
        "Why:",
        "  - Rule 'VIPs to their manager' matched: the customer is tagged vip.",
        "  - Sam Rivera is available.",
    ]


def test_route_remembers_a_stored_customer(rasa_url: str, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'fd.db'}"

    async def seed() -> int:
        store = Store(database)
        await store.upgrade()
        async with store.session() as session:
            customer = Customer(name="Ada")
            session.add(customer)
            await session.flush()
            assert customer.id is not None
            conversation = Conversation(
                customer_id=customer.id, channel="web", status="closed", employee_id="mei"
            )
            session.add(conversation)
            await session.flush()
            assert conversation.id is not None
            session.add(
                Assignment(
                    conversation_id=conversation.id,
                    employee_id="mei",
                    assigned_at=datetime(2026, 1, 5, tzinfo=UTC),
                )
            )
            await session.commit()
        await store.close()
        return customer.id

    customer = asyncio.run(seed())
    result = frontdesk(
        "route", "--json", "--customer", str(customer), "any news on my delivery? order 55555",
        RASA_URL=rasa_url, DATABASE_URL=database, FRONTDESK_CONFIG=str(always_open_config(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["rule"] == "orders and delivery"
    assert (out["employee"]["id"], out["standing_in_for"]) == ("mei", None)
    assert out["reasons"] == [
        "Rule 'orders and delivery' matched: intent order_status is one of order_status.",
        "Mei Chen helped this customer before and is available.",
    ]


def test_route_without_nlu_still_decides_and_says_why(tmp_path: Path) -> None:
    result = frontdesk(
        "route", "--json", "where is my order 12345",
        RASA_URL="http://127.0.0.1:9", DATABASE_URL=f"sqlite:///{tmp_path / 'fd.db'}",
        FRONTDESK_CONFIG=str(always_open_config(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["intent"] is None
    assert out["nlu_error"] == "no Rasa server answered: http://127.0.0.1:9: cannot connect"
    assert out["rule"] is None
    assert out["team"] == "support"
    assert out["employee"]["id"] == "sam"
    assert out["reasons"] == [
        "No rule matched, so the fallback applies (team support).",
        "Sam Rivera is available with the fewest open conversations in Customer Support (0);"
        " tied with Lena Novak, Kofi Mensah, Hana Suzuki, and listed first in the config.",
    ]


def test_nlu_eval_on_a_held_out_file(tmp_path: Path, nlu_service: object) -> None:
    """Uses the model `make test` trained; starts its own Rasa server to classify."""
    held_out = tmp_path / "held_out.yml"
    held_out.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: order_status\n  examples: |\n    - has my parcel shipped yet?\n    - tracking for order 55501 please\n"
        "- intent: greet\n  examples: |\n    - good morning!\n"
        "- intent: refund\n  examples: |\n    - I'd like my money back for the broken kettle\n"
    )
    result = frontdesk("nlu", "eval", "--test", str(held_out))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"tested on {held_out}" in out
    rows = {
        line.split()[0]: line.split()[1:]
        for line in out.splitlines()
        if line.split() and line.split()[0] in {"greet", "order_status", "refund"}
    }
    assert rows == {  # precision, recall, f1, support: the shipped model gets all four
        "greet": ["1.000", "1.000", "1.000", "1"],
        "order_status": ["1.000", "1.000", "1.000", "2"],
        "refund": ["1.000", "1.000", "1.000", "1"],
    }
    assert "accuracy 1.000   macro F1 1.000   examples 4" in out
    assert "Most confused (expected -> predicted, count, an example):\n  none\n" in out
    assert "threshold  in-scope flagged  out-of-scope recall   (held-out predictions)" in out
    last = out.rstrip().splitlines()[-1]  # no out-of-scope messages here: no recall to give
    assert re.fullmatch(r"clarify threshold: triage.min_confidence is 0.45; the highest "
                        r"that flags <= 2% of in-scope messages here is 0\.\d\d", last), last  # fmt: skip
