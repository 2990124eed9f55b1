"""The package's shape, checked from its source: imports point one way, nobody reaches into
another module's private names, and no module keeps mutable state nobody owns."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "asteramisk"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.with_suffix("").relative_to(PACKAGE.parent).parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = _modules()


def _type_checking_blocks(tree: ast.AST) -> set[ast.AST]:
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                inside.update(ast.walk(child))
    return inside


def _imported(module: str, node: ast.Import | ast.ImportFrom) -> list[tuple[str, str]]:
    """(module imported, name imported from it or '') for each name of an import."""
    if isinstance(node, ast.Import):
        return [(alias.name, "") for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = module.split(".")
        package = parts if MODULES[module].name == "__init__.py" else parts[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    found = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        stem = PACKAGE.parent.joinpath(*full.split("."))
        if full not in MODULES and any(stem.with_suffix(x).exists() for x in (".c", ".pyi")):
            continue  # the package's own compiled extension
        found.append((full, "") if full in MODULES else (base, alias.name))
    return found


def _graph() -> tuple[dict[str, set[str]], list[str]]:
    """The package's runtime import graph (imports inside functions too, not those under
    TYPE_CHECKING), and every private name imported from another module."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    private: list[str] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        skipped = _type_checking_blocks(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or node in skipped:
                continue
            for target, name in _imported(module, node):
                if target in MODULES and target != module:
                    edges[module].add(target)
                    if name.startswith("_") and not name.startswith("__"):
                        private.append(f"{module} imports {target}.{name}")
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    edges, _ = _graph()
    assert _cycles(edges) == []


def test_the_checker_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_modules_private_names() -> None:
    _, private = _graph()
    assert private == []


def test_layers_point_downward() -> None:
    """The UI layer knows nothing of the agents (it imports their drivers lazily, from the
    subclasses); the Asterisk and media layers know nothing of the UI, the agents or the
    Server."""
    edges, _ = _graph()
    assert not any(t.startswith("asteramisk.agent") for t in edges["asteramisk.ui.base"])
    for module, targets in edges.items():
        if module.startswith(("asteramisk.asterisk", "asteramisk.media", "asteramisk.agi")):
            upward = {
                t
                for t in targets
                if t.startswith(("asteramisk.ui", "asteramisk.agent", "asteramisk.server"))
            }
            assert upward == set(), module


def test_the_agents_use_only_the_public_face_of_a_call() -> None:
    reaching = re.compile(r"\bui\._|\bui\.control\b")
    for path in (PACKAGE / "agent").glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            assert not reaching.search(line), f"{path.name}:{number}: {line.strip()}"


# Module-level containers that are not state: tables filled once at import, never changed.
_CONSTANT_TABLES = {
    ("asteramisk.media.tts.registry", "ENGINES"),
    ("asteramisk.media.stt.registry", "ENGINES"),
    ("asteramisk.asterisk.causes", "_CAUSES"),
    ("asteramisk.asterisk.agi_control", "_DIAL_CAUSES"),
    ("asteramisk.media.stt.registry", "_OFFLINE"),
}
# Process-wide state with a documented owner per entry.
_OWNED = {
    # Open text conversations, added and removed by the Server or Communicator that holds
    # each one (a reply reaching a Server finds a conversation a Communicator started).
    ("asteramisk.ui.conversations", "conversations"),
    # The process's Redis relays by URL: each held by the Servers and Communicators started
    # with REDIS_URL (acquire/release); the last to let go closes it and takes it out.
    ("asteramisk.text_relay", "_relays"),
}


def test_no_module_level_mutable_state_without_an_owner() -> None:
    mutable_calls = {"dict", "set", "list", "WeakSet", "WeakValueDictionary", "defaultdict"}
    found = set()
    for module, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                value = node.value
                mutable = isinstance(value, ast.Dict | ast.Set | ast.List) or (
                    isinstance(value, ast.Call)
                    and ast.unparse(value.func).split(".")[-1] in mutable_calls
                )
                registry = isinstance(value, ast.Call) and "Registry" in ast.unparse(value.func)
                if mutable or registry:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if not ast.unparse(target).startswith("__"):
                            found.add((module, ast.unparse(target)))
    assert found - _CONSTANT_TABLES - _OWNED == set()


def test_modules_and_classes_stay_small() -> None:
    """A module over 450 lines or a class over 300 does more than one job (the 47 AGI
    commands, one class each, are the exception)."""
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        if module != "asteramisk.agi.core":
            assert len(path.read_text().splitlines()) <= 450, module
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                assert (node.end_lineno or 0) - node.lineno + 1 <= 300, f"{module}.{node.name}"
