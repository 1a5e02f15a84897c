"""Permission violations: nats-py reports them through its error callback, not as replies,
so the requests and publishes they concern are failed here by subject."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .._wire.errors import PermissionDeniedError
from .errors import PERMISSION_RE


class PermissionWatch:
    """The futures waiting on each subject, failed when the server refuses that subject."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Future[Any]]] = {}

    def on_async_error(self, exc: BaseException) -> bool:
        """Fail the requests a permission violation names. True if it was one."""
        match = PERMISSION_RE.search(str(exc))
        if not match:
            return False
        kind, subject = match.groups()
        error = PermissionDeniedError(
            f"permission denied: the server refused {kind.lower()} to {subject!r}; "
            "ask the account owner for access to this bucket"
        )
        for pattern, futures in list(self._watchers.items()):
            if _subject_matches(subject, pattern):
                for fut in futures:
                    if not fut.done():
                        fut.set_exception(error)
        return True

    def watch(self, subject: str, fut: asyncio.Future[Any]) -> Callable[[], None]:
        """Fail `fut` with PermissionDeniedError if the server refuses `subject`; returns the
        undo (call it once `fut` no longer matters)."""
        watchers = self._watchers.setdefault(subject, set())
        watchers.add(fut)

        def undo() -> None:
            watchers.discard(fut)
            if not watchers and self._watchers.get(subject) is watchers:
                del self._watchers[subject]

        return undo

    def on_permission_denied(
        self, subject: str, callback: Callable[[BaseException], None]
    ) -> Callable[[], None]:
        """Call `callback` with the error if the server refuses `subject`; returns an undo."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unwatch = self.watch(subject, fut)

        def fired(done: asyncio.Future[None]) -> None:
            if not done.cancelled() and done.exception() is not None:
                callback(done.exception())  # type: ignore[arg-type]

        fut.add_done_callback(fired)

        def undo() -> None:
            unwatch()
            if not fut.done():
                fut.cancel()

        return undo

    @contextlib.contextmanager
    def watching(self, subject: str) -> Iterator[asyncio.Future[None]]:
        """A future failed with PermissionDeniedError while the server refuses `subject`."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        unwatch = self.watch(subject, fut)
        try:
            yield fut
        finally:
            unwatch()
            if fut.done() and not fut.cancelled():
                fut.exception()  # mark retrieved
            else:
                fut.cancel()


def _subject_matches(subject: str, pattern: str) -> bool:
    """True if a concrete subject matches a subject pattern with * and > wildcards, or equal.

    Case-insensitive: the violation text we match against arrives lower-cased.
    """
    subject = subject.lower()
    pattern = pattern.lower()
    if subject == pattern:
        return True
    s_tokens = subject.split(".")
    p_tokens = pattern.split(".")
    for i, tok in enumerate(p_tokens):
        if tok == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens) or (tok != "*" and tok != s_tokens[i]):
            return False
    return len(s_tokens) == len(p_tokens)
