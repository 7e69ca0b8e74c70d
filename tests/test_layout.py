"""The one dependency rule: bot may import routing and nlu; routing and nlu import
nothing of ours (and never rasa, which lives in its own venv)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
OURS = {"bot", "routing", "nlu"}
ALLOWED = {"bot": {"bot", "routing", "nlu"}, "routing": {"routing"}, "nlu": {"nlu"}}


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_rule_allows(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        imported = imported_packages(path)
        assert imported & OURS <= ALLOWED[package], f"{path} imports {imported & OURS}"
        assert "rasa" not in imported, f"{path} imports rasa"


def test_the_rule_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from bot.store import Store\nimport nlu.client\n")
    assert imported_packages(module) == {"bot", "nlu"}
