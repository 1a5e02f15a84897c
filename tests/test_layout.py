"""The layout holds: layers import only downward, no cycle, no import hidden in a function or
under TYPE_CHECKING, and only the boundary's privates module touches nats-py's internals.
(The layer order itself is import-linter's contract in pyproject.toml, run by
scripts/test.sh; `python scripts/module_graph.py` prints the graph.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parent.parent / "src" / "natsobj"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
NATS_PY_PRIVATES = re.compile(
    r"\.(_ps|_pending|_pending_data_size|_max_pending_size|_flush_queue|_flush_pending"
    r"|_transport|_sid|_id|_process_\w+|_server_info|_max_payload|_parse_header_lines)\b"
)


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_of_natsobj_imports_itself_back() -> None:
    graph = grimp.build_graph("natsobj", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        if module == "natsobj":
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == "natsobj" or module.startswith(imported + "."):
                continue  # the public facade, or a package's __init__ re-exporting
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append((module, imported))
    assert cycles == []


def test_no_import_of_natsobj_hides_in_a_function_or_under_type_checking() -> None:
    hidden = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                hidden.append(f"{path.name}: TYPE_CHECKING")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (
                        inner.level > 0 or (inner.module or "").startswith("natsobj")
                    ):
                        hidden.append(f"{path.name}:{inner.lineno}")
    assert hidden == []


def test_only_the_privates_module_touches_nats_py_internals() -> None:
    allowed = SRC / "_natspy" / "privates.py"
    touching = []
    for path in _modules():
        if path == allowed:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if NATS_PY_PRIVATES.search(code) and not re.search(r"self\._\w+", code):
                touching.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert touching == []


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        str(path.relative_to(SRC))
        for path in _modules()
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert missing == []


def test_every_module_stays_under_500_lines() -> None:
    # split a module that grows past this by concept (see README, "How the code is laid out")
    too_long = {
        str(path.relative_to(SRC)): lines
        for path in _modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_every_function_stays_under_80_lines() -> None:
    # counted from `def` to its last line, docstring included (decorators are not)
    too_long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{path.relative_to(SRC)}:{node.lineno} {node.name}"] = lines
    assert too_long == {}
