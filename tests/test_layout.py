"""The dependency rules. Between packages: bot may import routing and nlu; routing and nlu
import nothing of ours (and never rasa, which lives in its own venv; only the Rasa
project's components in nlu/project, which run there, import it). Inside bot: the
conversation core imports no adapter and names no vendor; an adapter imports the core,
never another adapter."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
OURS = {"bot", "routing", "nlu"}
ALLOWED = {"bot": {"bot", "routing", "nlu"}, "routing": {"routing"}, "nlu": {"nlu"}}

# The conversation core, and each adapter with the modules only it uses.
CORE = {
    "bot.conversations", "bot.customers", "bot.employees", "bot.desk", "bot.delivery",
    "bot.jobs", "bot.outbox", "bot.news", "bot.roles", "bot.triage", "bot.presenter",
    "bot.tables", "bot.store", "bot.store.conversations", "bot.store.customers",
    "bot.store.messages", "bot.store.queue", "bot.store.rows", "bot.privacy",
    "bot.store.privacy", "bot.receipts", "bot.ratings", "bot.store.ratings",
    "bot.escalation", "bot.reply_times", "bot.handoff", "bot.attachments", "bot.facts",
    "bot.store.facts", "bot.wiring", "bot.suggestions", "bot.store.suggestions",
    "bot.fresh", "bot.completions", "bot.latest",
}  # fmt: skip
ADAPTERS = {
    "widget": {
        "bot.widget",
        "bot.visitors",
        "bot.hub",
        "bot.frames",
        "bot.widget_files",
        "bot.widget_messages",
    },
    "telegram": {
        "bot.telegram",
        "bot.telegram_files",
        "bot.telegram_ratings",
        "bot.telegram_parts",
    },
    "slack": {
        "bot.slack",
        "bot.slack_envelope",
        "bot.cards",
        "bot.slack_files",
        "bot.slack_presence",
    },
}
VENDORS = re.compile(r"slack|telegram", re.IGNORECASE)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


# The Rasa project's own components: Rasa imports them in its venv; the app never does.
RASA_SIDE = ROOT / "nlu" / "project"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_the_rule_allows(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        imported = imported_packages(path)
        if path.is_relative_to(RASA_SIDE):
            assert not imported & OURS, f"{path} imports {imported & OURS}"
            continue
        assert imported & OURS <= ALLOWED[package], f"{path} imports {imported & OURS}"
        assert "rasa" not in imported, f"{path} imports rasa"


def test_every_core_module_exists() -> None:
    assert all(source(module).is_file() for module in CORE)


@pytest.mark.parametrize("module", sorted(CORE))
def test_the_core_imports_no_adapter_and_names_no_vendor(module: str) -> None:
    path = source(module)
    adapters = set().union(*ADAPTERS.values())
    assert not imported_modules(path) & adapters, f"{module} imports an adapter"
    assert not imported_modules(path) & {"bot.app", "bot.admin", "bot.cli"}
    assert not VENDORS.search(path.read_text(encoding="utf-8")), f"{module} names a vendor"


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_an_adapter_imports_no_other_adapter(adapter: str) -> None:
    others = set().union(*(m for name, m in ADAPTERS.items() if name != adapter))
    through_core = False
    for module in ADAPTERS[adapter]:
        imported = imported_modules(source(module))
        assert not imported & others, f"{module} imports {imported & others}"
        through_core |= bool(imported & CORE)
    assert through_core, f"the {adapter} adapter does not go through the core"


def test_the_rule_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from bot.store import Store\nimport nlu.client\n")
    assert imported_packages(module) == {"bot", "nlu"}
    assert "bot.store.Store" in imported_modules(module)


def test_no_module_is_too_long_to_read_in_one_sitting() -> None:
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.parts[len(ROOT.parts)] in OURS:
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= 400, f"{module_name(path)} has {lines} lines"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    assert length <= 200, f"{module_name(path)}.{node.name} has {length} lines"
