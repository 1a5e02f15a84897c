"""natsobj.sync mirrors the async API: same methods, parameters, defaults and docstrings.

The blocking API is written by hand; these tests are what keeps it from drifting. Methods are
found by introspection, so a new public method of natsobj.Client or natsobj.ObjectStore fails
here until it has a blocking twin (or an entry, with its reason, in DIFFERENCES). The rule for
docstrings: the blocking one starts with the async one (`async for`/`async with`/`await`
read as their blocking forms) and may add notes after it.
No server is needed: only signatures and docstrings are compared.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import natsobj
import natsobj.sync


@dataclass(frozen=True)
class Difference:
    """A deliberate difference between an async method and its blocking twin."""

    why: str
    sync_only_params: frozenset[str] = frozenset()
    """Parameters only the blocking twin has."""
    async_only_params: frozenset[str] = frozenset()
    """Parameters only the async method has."""
    own_docstring: bool = False
    """The blocking twin documents itself (the async docstring would be wrong for it)."""


# Keys are "<class>.<member>" (or a function's name). Every other parameter, kind, default and
# docstring must match; an entry that no longer matches the code fails too.
DIFFERENCES: dict[str, Difference] = {
    "ObjectStore.open": Difference(
        why=(
            "returns a blocking file object, not an async reader: mode picks a seekable "
            "reader ('rb') or a streaming writer ('wb', whose put options go in **put_options), "
            "buffer_size is its read-ahead or write buffer, and seek()/read(n) do what the "
            "async offset/length do"
        ),
        sync_only_params=frozenset({"mode", "buffer_size", "put_options"}),
        async_only_params=frozenset({"offset", "length"}),
        own_docstring=True,
    ),
    "ObjectStore.watch": Difference(
        why=(
            "a blocking iteration has no event loop of the caller's to cancel it from: "
            "idle_timeout ends it after that many seconds without a change"
        ),
        sync_only_params=frozenset({"idle_timeout"}),
    ),
    "connect": Difference(
        why="returns a blocking Client, a plain context manager, so its docstring says so",
        own_docstring=True,
    ),
}

# Public members of the blocking classes with no async member of the same name.
SYNC_ONLY: dict[str, str] = {
    "Client.is_closed": "the async Client leaves this to its nats-py connection (client.nc)",
    "ObjectStore.bucket": "an instance attribute of the async ObjectStore, not on its class",
}

PAIRS: list[tuple[str, type, type]] = [
    ("Client", natsobj.Client, natsobj.sync.Client),
    ("ObjectStore", natsobj.ObjectStore, natsobj.sync.ObjectStore),
]

NO_DIFFERENCE = Difference(why="")


# ---------------------------------------------------------------------------------------------
# introspection


def public_members(cls: type) -> dict[str, Any]:
    """The class's public methods (functions, coroutine functions) and properties."""
    members: dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if inspect.isfunction(attr) or isinstance(attr, property):
            members[name] = attr
    return members


def parameters(func: Callable[..., Any]) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(func).parameters.values() if p.name != "self"]


def shown(params: list[inspect.Parameter]) -> str:
    return str(inspect.Signature([p.replace(annotation=inspect.Parameter.empty) for p in params]))


def blocking_text(doc: str | None) -> str:
    """A docstring as the blocking API would say it, on one line."""
    text = re.sub(r"\basync (for|with)\b", r"\1", doc or "")
    text = re.sub(r"\bawait ", "", text)
    return " ".join(text.split())


def summary(doc: str | None) -> str:
    return blocking_text((doc or "").strip().split("\n\n")[0])


def docstring(member: Any) -> str | None:
    return inspect.getdoc(member.fget if isinstance(member, property) else member)


# ---------------------------------------------------------------------------------------------
# the checks, as functions of plain values (tested below on made-up classes)


def twin_problems(key: str, async_member: Any, sync_member: Any, diff: Difference) -> list[str]:
    """What is wrong with `sync_member` as the blocking twin of `async_member`."""
    if sync_member is None:
        return [f"natsobj.sync has no {key}: add the blocking twin of the async one"]
    problems: list[str] = []
    if isinstance(async_member, property) or isinstance(sync_member, property):
        if not (isinstance(async_member, property) and isinstance(sync_member, property)):
            problems.append(f"{key}: a property on one side only")
    else:
        if inspect.iscoroutinefunction(sync_member) or inspect.isasyncgenfunction(sync_member):
            problems.append(f"{key}: the blocking twin is async; it must return a result")
        async_params = parameters(async_member)
        sync_params = parameters(sync_member)
        for side, wanted, params in (
            ("async", diff.async_only_params, async_params),
            ("sync", diff.sync_only_params, sync_params),
        ):
            stale = sorted(wanted - {p.name for p in params})
            if stale:
                problems.append(f"{key}: DIFFERENCES names {side} parameters it lacks: {stale}")
        kept_async = [p for p in async_params if p.name not in diff.async_only_params]
        kept_sync = [p for p in sync_params if p.name not in diff.sync_only_params]
        if [(p.name, p.kind, p.default) for p in kept_async] != [
            (p.name, p.kind, p.default) for p in kept_sync
        ]:
            problems.append(
                f"{key}: parameters differ: async {shown(kept_async)}, sync {shown(kept_sync)}"
            )
    if not diff.own_docstring:
        async_doc, sync_doc = docstring(async_member), docstring(sync_member)
        if summary(async_doc) != summary(sync_doc):
            problems.append(
                f"{key}: docstring summaries differ: async {summary(async_doc)!r}, "
                f"sync {summary(sync_doc)!r}"
            )
        elif not blocking_text(sync_doc).startswith(blocking_text(async_doc)):
            problems.append(
                f"{key}: the blocking docstring must start with the whole async one "
                "(add blocking notes after it)"
            )
    return problems


def unmatched_sync_members(
    label: str, async_cls: type, sync_cls: type, sync_only: dict[str, str]
) -> list[str]:
    """Public members of `sync_cls` with no async original and no SYNC_ONLY entry."""
    async_members = public_members(async_cls)
    sync_members = public_members(sync_cls)
    problems = [
        f"natsobj.sync {label}.{name} has no async original: add it to the core, or to "
        "SYNC_ONLY with the reason"
        for name in sorted(sync_members)
        if name not in async_members and f"{label}.{name}" not in sync_only
    ]
    problems += [
        f"SYNC_ONLY names {key}, which is not a blocking-only member (any more)"
        for key in sorted(sync_only)
        if key.startswith(f"{label}.")
        and (key.split(".", 1)[1] not in sync_members or key.split(".", 1)[1] in async_members)
    ]
    return problems


# ---------------------------------------------------------------------------------------------
# the API


def async_twins() -> list[tuple[str, Any, Any]]:
    twins = [
        (f"{label}.{name}", member, public_members(sync_cls).get(name))
        for label, async_cls, sync_cls in PAIRS
        for name, member in sorted(public_members(async_cls).items())
    ]
    return [*twins, ("connect", natsobj.connect, natsobj.sync.connect)]


TWINS = async_twins()


def test_discovery_finds_the_coroutines_and_the_async_object_factories() -> None:
    keys = {key for key, _, _ in TWINS}
    assert {"ObjectStore.put", "ObjectStore.open", "ObjectStore.watch", "Client.close"} <= keys
    assert len(keys) > 25  # an empty discovery would pass every test below


@pytest.mark.parametrize(("key", "async_member", "sync_member"), TWINS, ids=[t[0] for t in TWINS])
def test_every_async_method_has_a_blocking_twin(
    key: str, async_member: Any, sync_member: Any
) -> None:
    assert twin_problems(key, async_member, sync_member, DIFFERENCES.get(key, NO_DIFFERENCE)) == []


@pytest.mark.parametrize(("label", "async_cls", "sync_cls"), PAIRS, ids=[p[0] for p in PAIRS])
def test_every_blocking_method_has_an_async_original(
    label: str, async_cls: type, sync_cls: type
) -> None:
    assert unmatched_sync_members(label, async_cls, sync_cls, SYNC_ONLY) == []


@pytest.mark.parametrize(("label", "async_cls", "sync_cls"), PAIRS, ids=[p[0] for p in PAIRS])
def test_an_async_context_manager_has_a_blocking_one(
    label: str, async_cls: type, sync_cls: type
) -> None:
    if hasattr(async_cls, "__aenter__"):
        assert hasattr(sync_cls, "__enter__") and hasattr(sync_cls, "__exit__"), label


def test_every_difference_names_an_async_method() -> None:
    keys = {key for key, _, _ in TWINS}
    assert set(DIFFERENCES) <= keys
    assert all(diff.why for diff in DIFFERENCES.values())


def test_the_type_aliases_are_the_cores() -> None:
    # natsobj._transfer keeps exporting these two, wherever the rest of it moves
    from natsobj import _transfer

    assert natsobj.sync.PutSource == _transfer.PutSource
    assert natsobj.sync.ProgressCallback == _transfer.ProgressCallback


def test_sync_imports_only_the_public_package() -> None:
    # natsobj.sync is a package: each of its modules may import its siblings, and of the core
    # only the public package's names (`from .. import X`), never a private module
    package = Path(natsobj.sync.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                assert node.module is not None and (package / f"{node.module}.py").exists(), (
                    f"{where}: from .{node.module or ''} import ... is not a module of natsobj.sync"
                )
            elif isinstance(node, ast.ImportFrom) and node.level > 1:
                assert node.level == 2 and node.module is None, (
                    f"{where}: from {'.' * node.level}{node.module or ''} import ..."
                )
                names = {alias.name for alias in node.names}
                assert names <= set(natsobj.__all__), f"{where}: not public: {names}"
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("natsobj"), f"{where}: {node.module}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("natsobj"), f"{where}: {alias.name}"


# ---------------------------------------------------------------------------------------------
# the checks themselves, on made-up classes


class _Async:
    async def same(self, a: int, *, b: int = 1) -> None:
        """Do it.

        Details.
        """

    async def loop(self) -> None:
        """Iterate: `async for x in it:`."""

    async def other_default(self, *, b: int = 1) -> None:
        """Do it."""

    async def other_kind(self, b: int = 1) -> None:
        """Do it."""

    async def other_summary(self) -> None:
        """Do it."""

    async def other_details(self) -> None:
        """Do it.

        Details.
        """

    async def missing(self) -> None:
        """Do it."""


class _Sync:
    def same(self, a: int, *, b: int = 1) -> None:
        """Do it.

        Details.

        Blocking: a note.
        """

    def loop(self) -> None:
        """Iterate: `for x in it:`."""

    def other_default(self, *, b: int = 2) -> None:
        """Do it."""

    def other_kind(self, *, b: int = 1) -> None:
        """Do it."""

    def other_summary(self) -> None:
        """Do that."""

    def other_details(self) -> None:
        """Do it.

        Other details.
        """

    async def stays_async(self) -> None:
        """Do it."""

    def extra(self) -> None:
        """Only here."""


def problems_of(name: str, diff: Difference = NO_DIFFERENCE) -> list[str]:
    return twin_problems(name, getattr(_Async, name, None), getattr(_Sync, name, None), diff)


def test_check_accepts_a_faithful_twin_with_blocking_notes() -> None:
    assert problems_of("same") == []
    assert problems_of("loop") == []


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("missing", "has no"),
        ("other_default", "parameters differ"),
        ("other_kind", "parameters differ"),
        ("other_summary", "summaries differ"),
        ("other_details", "whole async one"),
    ],
)
def test_check_reports_a_drifted_twin(name: str, complaint: str) -> None:
    problems = problems_of(name)
    assert len(problems) == 1 and complaint in problems[0], problems


def test_check_reports_a_twin_that_stays_async() -> None:
    problem = twin_problems("stays_async", _Async.same, _Sync.stays_async, NO_DIFFERENCE)
    assert any("is async" in p for p in problem)


def test_check_honours_and_verifies_differences() -> None:
    allowed = Difference(why="test", sync_only_params=frozenset({"b"}), own_docstring=True)
    assert problems_of("other_summary", allowed)[0].endswith("sync parameters it lacks: ['b']")
    allowed = Difference(why="test", async_only_params=frozenset({"b"}), own_docstring=True)
    assert twin_problems("x", _Async.other_default, _Sync.other_summary, allowed) == []


def test_check_reports_blocking_members_without_an_async_original() -> None:
    assert unmatched_sync_members("X", _Async, _Sync, {}) == [
        "natsobj.sync X.extra has no async original: add it to the core, or to SYNC_ONLY with "
        "the reason",
        "natsobj.sync X.stays_async has no async original: add it to the core, or to SYNC_ONLY "
        "with the reason",
    ]
    assert unmatched_sync_members("X", _Async, _Sync, {"X.extra": "", "X.stays_async": ""}) == []
    assert unmatched_sync_members("X", _Async, _Sync, {"X.same": ""}) != []
