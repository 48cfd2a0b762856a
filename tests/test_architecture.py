"""The arrows ARCHITECTURE.md promises: checked on the source, so a new import can't break them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "trends", "jobs", "bot", "cli")
# What builds a query; exceptions and session types may be used anywhere a transaction is held.
QUERY_BUILDERS = {"select", "insert", "update", "delete", "text", "and_", "or_", "func"}


def _modules() -> dict[str, tuple[Path, set[str], set[str]]]:
    """module name → (path, project modules it imports, names it takes from sqlalchemy)."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts).removesuffix(".__init__")
            imports, from_sqlalchemy = set(), set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imports.add(node.module)
                    imports.update(f"{node.module}.{alias.name}" for alias in node.names)
                    if node.module.split(".")[0] == "sqlalchemy":
                        from_sqlalchemy.update(alias.name for alias in node.names)
                elif isinstance(node, ast.Import):
                    imports.update(alias.name for alias in node.names)
            found[name] = (path, imports, from_sqlalchemy)
    return {
        name: (path, {i for i in imports if i in found}, sql)
        for name, (path, imports, sql) in found.items()
    }


MODULES = _modules()


def test_no_import_cycle_even_through_late_imports() -> None:
    graph = {name: deps for name, (_, deps, _) in MODULES.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_domain_knows_no_telegram_and_the_jobs_no_bot() -> None:
    wrong = [
        (name, dep)
        for name, (_, deps, _) in MODULES.items()
        for dep in deps
        if (name.startswith("trends") and dep.split(".")[0] in ("bot", "jobs"))
        or (name.startswith("jobs") and dep.split(".")[0] == "bot")
    ]
    assert wrong == []
    for name, (path, _, _) in MODULES.items():
        if name.split(".")[0] in ("trends", "jobs"):
            assert "import telegram" not in path.read_text(encoding="utf-8"), name
            assert "from telegram" not in path.read_text(encoding="utf-8"), name


def test_queries_are_built_only_in_the_store() -> None:
    outside = {
        name: sorted(sql & QUERY_BUILDERS)
        for name, (_, _, sql) in MODULES.items()
        if sql & QUERY_BUILDERS and not name.startswith("trends.store")
    }
    assert outside == {}


def test_no_orm_row_reaches_the_jobs_or_the_bot() -> None:
    """The services hand out plain data; rows stay under trends/ (ARCHITECTURE.md)."""
    wrong = [
        (name, dep)
        for name, (_, deps, _) in MODULES.items()
        for dep in deps
        if name.split(".")[0] in ("bot", "jobs") and dep.startswith("trends.store.schema")
    ]
    assert wrong == []


# Message catalogues are long by nature: every reply in two languages.
CATALOGUES = {"bot.messages"}


def test_modules_stay_small_enough_to_read() -> None:
    long = {
        name: lines
        for name, (path, _, _) in MODULES.items()
        if name not in CATALOGUES
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


def test_the_command_line_is_a_caller_nothing_depends_on() -> None:
    """cli/ calls the services and the bot; only `python -m bot` (the Procfile) enters it."""
    wrong = [
        (name, dep)
        for name, (_, deps, _) in MODULES.items()
        for dep in deps
        if dep.split(".")[0] == "cli" and name.split(".")[0] != "cli" and name != "bot.__main__"
    ]
    assert wrong == []
