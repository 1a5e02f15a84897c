"""One boundary for failures: every nats-py exception that can reach natsobj has a mapping."""

from __future__ import annotations

import inspect

import nats.errors
import nats.js.errors
import pytest

from natsobj import ObjectStoreError
from natsobj._jetstream.errors import NATS_PY_ERRORS, NOT_REACHING_NATSOBJ, map_nats_error

# nats-py's own key-value and object store errors: natsobj never calls those APIs.
_NATS_PY_STORES = {
    name
    for name, cls in inspect.getmembers(nats.js.errors, inspect.isclass)
    if issubclass(cls, BaseException)
    and (
        name.startswith(("Key", "Bucket", "Object", "Bad", "Invalid", "Digest", "Link", "NoKeys"))
        or name in ("ConsumerSequenceMismatchError", "ConsumerInvalidResetError")
        or name in ("TooManyStalledMsgsError", "KeyValueError", "Error")
    )
}


def _nats_py_exceptions() -> list[type[BaseException]]:
    found = []
    for module in (nats.errors, nats.js.errors):
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, BaseException) or cls.__module__ != module.__name__:
                continue
            if module is nats.js.errors and name in _NATS_PY_STORES:
                continue
            if name == "Error":
                continue
            found.append(cls)
    return found


def _make(cls: type[BaseException]) -> BaseException:
    try:
        return cls()
    except TypeError:
        return cls.__new__(cls)


@pytest.mark.parametrize("cls", _nats_py_exceptions(), ids=lambda c: c.__name__)
def test_every_nats_py_exception_is_mapped_or_known_not_to_reach_natsobj(cls: type) -> None:
    if cls in NOT_REACHING_NATSOBJ:
        assert NOT_REACHING_NATSOBJ[cls]  # with the reason why
        return
    assert any(issubclass(cls, kind) for kind, _ in NATS_PY_ERRORS), f"{cls.__name__} unmapped"
    mapped = map_nats_error(_make(cls), "put x")
    assert isinstance(mapped, ObjectStoreError)
    assert type(mapped) is not ObjectStoreError, f"{cls.__name__} fell through to the base"
    assert "unexpected" not in str(mapped) and str(mapped).startswith("put x: ")


def test_an_unknown_exception_says_it_is_a_bug_to_report() -> None:
    mapped = map_nats_error(KeyError("boom"), "get y")
    assert type(mapped) is ObjectStoreError and "report it" in str(mapped)
