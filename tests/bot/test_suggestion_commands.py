"""`frontdesk nlu suggestions` as a user runs it: suggestions made by transfers in the
in-memory core, listed with counts, accepted into a copy of the Rasa project's data
(never the shipped one) or rejected."""

import shutil
from pathlib import Path

import yaml

from nlu.learned import LEARNED
from nlu.training import PROJECT, RasaProject, read_examples
from routing import Target
from tests.bot.test_cli import frontdesk
from tests.bot.test_suggestions import BROKEN, GIFT_CARDS, MEANS, SHOUTED
from tests.fakes.harness import Harness


async def transferred(tmp_path: Path) -> str:
    """A database where two customers' gift-card questions went to Sales and a broken
    order to Billing for a refund (suggestions #1 and #2 the same words, #3)."""
    url = f"sqlite:///{tmp_path / 'fd.db'}"
    async with Harness(tmp_path, meanings=MEANS, database_url=url) as harness:
        for who, text in [("ada", GIFT_CARDS), ("bo", SHOUTED), ("cy", BROKEN)]:
            await harness.customer(who).says(text)
        for spot, card in list(harness.desk.cards):
            team, intent = (
                ("billing", "refund") if card.intent == "order_status" else ("sales", None)
            )
            await harness.employee(card.employee.id).transfers(
                Target(team=team), spot, intent=intent
            )
    return url


def project_copy(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns(LEARNED))
    return root


def learned(root: Path) -> list[tuple[str, str]]:
    document = yaml.safe_load((root / "data" / LEARNED).read_text(encoding="utf-8"))
    return [(e.text, e.intent) for e in read_examples(document)]


async def test_suggestions_are_listed_with_counts(tmp_path: Path) -> None:
    url = await transferred(tmp_path)
    result = frontdesk("nlu", "suggestions", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Training examples suggested by transfers: 2 waiting."
    assert lines[1].startswith(
        "#1     sales, 2 times (the NLU said billing at 68%; transferred by "
    )
    assert lines[2] == f"       {GIFT_CARDS!r}"
    assert lines[3].startswith("#3     refund, 1 time (the NLU said order_status at 82%;")
    assert "--accept ID" in lines[-1]


async def test_accepting_adds_to_the_project_data_and_rejecting_does_not(tmp_path: Path) -> None:
    url, root = await transferred(tmp_path), project_copy(tmp_path)
    before = RasaProject(root).fingerprint()
    accepted = frontdesk(
        "nlu", "suggestions", "--accept", "2", "--project", str(root), DATABASE_URL=url
    )
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith(
        f"Accepted 1 suggestion: 1 example added to {root / 'data' / LEARNED}."
    )
    assert learned(root) == [(GIFT_CARDS, "sales")]
    assert (GIFT_CARDS, "sales") in [(e.text, e.intent) for e in RasaProject(root).examples()]
    assert RasaProject(root).fingerprint() != before  # the next training retrains

    rejected = frontdesk(
        "nlu", "suggestions", "--reject", "3", "--project", str(root), DATABASE_URL=url
    )
    assert rejected.returncode == 0, rejected.stderr
    assert learned(root) == [(GIFT_CARDS, "sales")]
    listed = frontdesk("nlu", "suggestions", "--all", DATABASE_URL=url).stdout
    assert listed.startswith(
        "Training examples suggested by transfers: 0 waiting, 1 accepted, 1 rejected."
    )
    assert "  [accepted]" in listed
    assert "  [rejected]" in listed
    # Decided once is decided: naming them again changes nothing.
    again = frontdesk(
        "nlu", "suggestions", "--accept", "1", "3", "--project", str(root), DATABASE_URL=url
    )
    assert again.returncode == 1
    assert "No suggestion waiting as #1, #3: nothing was changed." in again.stderr
    assert learned(root) == [(GIFT_CARDS, "sales")]


async def test_words_in_the_training_data_already_are_not_added_twice(tmp_path: Path) -> None:
    url, root = await transferred(tmp_path), project_copy(tmp_path)
    data = root / "data" / "nlu.yml"
    data.write_text(data.read_text(encoding="utf-8").replace(
        "- intent: sales\n  examples: |\n", f"- intent: sales\n  examples: |\n    - {BROKEN}\n", 1,
    ), encoding="utf-8")  # fmt: skip
    accepted = frontdesk(
        "nlu", "suggestions", "--accept", "3", "--project", str(root), DATABASE_URL=url
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "0 examples added" in accepted.stdout
    assert "(1 in the training data already)" in accepted.stdout
    assert not (root / "data" / LEARNED).exists()


def test_the_command_explains_itself() -> None:
    result = frontdesk("nlu", "suggestions", "--help")
    assert result.returncode == 0
    assert "Nothing is added unless accepted." in " ".join(result.stdout.split())
    assert "--accept ID [ID ...]" in result.stdout
