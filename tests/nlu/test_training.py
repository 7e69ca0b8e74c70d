import shutil
from pathlib import Path

import yaml

from nlu.training import PROJECT, Example, RasaProject, read_examples, write_data

DEFAULT_INTENTS = {
    "greet", "goodbye", "human_handoff", "order_status", "refund", "billing",
    "cancel_subscription", "technical_support", "account_access", "sales", "complaint",
    "out_of_scope",
}  # fmt: skip


def test_the_shipped_project_has_the_default_intents_and_enough_examples() -> None:
    project = RasaProject()
    assert set(project.intents()) == DEFAULT_INTENTS
    assert set(project.entities()) == {"order_id", "email"}
    examples = project.examples()
    for intent in DEFAULT_INTENTS:
        assert sum(e.intent == intent for e in examples) >= 30, intent
    texts = [e.text.lower() for e in examples]
    assert len(texts) == len(set(texts)), "duplicate training examples"


def test_annotations_are_stripped_for_the_customer_text() -> None:
    examples = read_examples(
        {"nlu": [{"intent": "order_status", "examples": "- where is #[48213](order_id)?\n- hi\n"}]}
    )
    assert examples == [
        Example("where is #48213?", "where is #[48213](order_id)?", "order_status"),
        Example("hi", "hi", "order_status"),
    ]


def test_written_data_reads_back(tmp_path: Path) -> None:
    examples = [Example("a 12345", "a [12345](order_id)", "x"), Example("b", "b", "y")]
    regex = {"regex": "order_id", "examples": "- \\b\\d{5,8}\\b\n"}
    write_data(tmp_path / "nlu.yml", examples, [regex])
    document = yaml.safe_load((tmp_path / "nlu.yml").read_text())
    assert read_examples(document) == examples
    assert document["nlu"][-1] == regex


def test_the_fingerprint_follows_data_and_pipeline(tmp_path: Path) -> None:
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    project = RasaProject(root)
    before = project.fingerprint()
    assert RasaProject(root).fingerprint() == before
    assert project.model_path(tmp_path).name == f"nlu-{before}.tar.gz"
    with (root / "data" / "nlu.yml").open("a") as data:
        data.write("\n")
    after_data = project.fingerprint()
    assert after_data != before
    with (root / "config.yml").open("a") as pipeline:
        pipeline.write("# retuned\n")
    assert project.fingerprint() not in (before, after_data)
