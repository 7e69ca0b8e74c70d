"""The `frontdesk` command as a user runs it: a subprocess, real config, real Rasa."""

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.store import Store
from bot.tables import Assignment, Conversation, Customer

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


@pytest.mark.parametrize("args", [["--help"], ["route", "--help"], ["nlu", "eval", "--help"]])
def test_help_explains_itself(args: list[str]) -> None:
    result = frontdesk(*args)
    assert result.returncode == 0
    assert "usage: frontdesk" in result.stdout


def test_check_config_summarises_a_valid_file() -> None:
    result = frontdesk("check-config")
    assert result.returncode == 0, result.stderr
    assert "config.yml is valid" in result.stdout
    assert "Billing (billing, DMs): Priya Sharma, Tomás García" in result.stdout
    assert "1. VIPs to their manager: customer_tag vip -> employee sam" in result.stdout
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
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["intent"] == "order_status"
    assert out["confidence"] > 0.6
    assert out["entities"] == [{"name": "order_id", "value": "12345"}]
    assert out["rule"] == "orders and delivery"
    assert out["team"] == "orders"
    assert out["employee"]["id"] in {"amara", "jonas", "mei", "kofi"}
    assert out["reasons"][0].startswith("Rule 'orders and delivery' matched")


def test_route_as_text_names_everything(rasa_url: str, tmp_path: Path) -> None:
    result = frontdesk(
        "route", "I want a refund for order 98765", "--tag", "vip",
        RASA_URL=rasa_url, DATABASE_URL=f"sqlite:///{tmp_path / 'fd.db'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for label in (
        "Intent:    refund",
        "Entities:  order_id=98765",
        "Rule:      VIPs to their manager",
    ):
        assert label in result.stdout
    assert "Employee:  Sam Rivera, Customer care manager" in result.stdout
    assert "the customer is tagged vip" in result.stdout


def test_route_remembers_a_stored_customer(rasa_url: str, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'fd.db'}"

    async def seed() -> int:
        store = Store(database)
        await store.create_schema()
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
        RASA_URL=rasa_url, DATABASE_URL=database,
    )  # fmt: skip
    out = json.loads(result.stdout)
    assert out["rule"] == "orders and delivery"
    assert "mei" in (out["employee"]["id"], out["standing_in_for"]), out["reasons"]
    assert any("Mei Chen" in reason for reason in out["reasons"])


def test_route_without_nlu_still_decides_and_says_why(tmp_path: Path) -> None:
    result = frontdesk(
        "route", "--json", "where is my order 12345",
        RASA_URL="http://127.0.0.1:9", DATABASE_URL=f"sqlite:///{tmp_path / 'fd.db'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["intent"] is None
    assert "no Rasa server answered" in out["nlu_error"]
    assert out["rule"] is None
    assert out["team"] == "support"


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
    assert "intent" in out
    assert "precision" in out
    assert "recall" in out
    assert "f1" in out
    assert "order_status" in out
    assert "examples 4" in out
    assert "Most confused" in out
