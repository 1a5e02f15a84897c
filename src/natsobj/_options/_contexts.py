"""natscli contexts: which one is selected (flag, NATS_CONTEXT or context.txt), reading its JSON,
and typed access to its keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._fields import CONTEXT_KEYS, clean, home


def load_context(
    requested: str | None, env: Mapping[str, str], config_home: Path | None
) -> tuple[str | None, dict[str, Any]]:
    nats_dir = _nats_config_dir(env, config_home)
    if requested:
        name, origin = requested, "requested"
    elif (env.get("NATS_CONTEXT") or "").strip():
        name, origin = env["NATS_CONTEXT"].strip(), "selected by NATS_CONTEXT"
    else:
        selected = nats_dir / "context.txt"
        try:
            name = selected.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None, {}
        except OSError as e:
            raise ValueError(f"cannot read {selected}: {e.strerror}") from e
        if not name:
            return None, {}
        origin = f"selected in {selected}"

    if not name or ".." in name or "/" in name or "\\" in name:
        raise ValueError(f"invalid NATS context name {name!r}")
    path = nats_dir / "context" / f"{name}.json"
    if not path.is_file():
        known = _known_contexts(nats_dir)
        listing = ", ".join(known) if known else f"none in {nats_dir / 'context'}"
        raise ValueError(f"unknown NATS context {name!r} ({origin}); available contexts: {listing}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"cannot read NATS context {name!r} at {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"NATS context {name!r} at {path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"NATS context {name!r} at {path} is not a JSON object")
    for key in [*CONTEXT_KEYS.values(), "url", "nsc"]:
        context_str(data, key, name)
    if clean(data.get("nsc")) and not (clean(data.get("creds")) and clean(data.get("url"))):
        raise ValueError(
            f"NATS context {name!r} uses the deprecated 'nsc' lookup, which natsobj does not "
            "support; set 'url' and 'creds' in the context instead (nsc generate creds)"
        )
    return name, data


def _nats_config_dir(env: Mapping[str, str], config_home: Path | None) -> Path:
    if config_home is not None:
        return Path(config_home) / "nats"
    xdg = clean(env.get("XDG_CONFIG_HOME"))
    if xdg:
        return Path(xdg) / "nats"
    return Path(home(env)) / ".config" / "nats"


def _known_contexts(nats_dir: Path) -> list[str]:
    ctx_dir = nats_dir / "context"
    if not ctx_dir.is_dir():
        return []
    return sorted(p.stem for p in ctx_dir.glob("*.json") if p.is_file() and p.stat().st_size)


def context_str(ctx: Mapping[str, Any], key: str, ctx_name: str | None) -> str | None:
    value = ctx.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"NATS context {ctx_name!r}: {key!r} must be a string")
    return clean(value)


def context_bool(ctx: Mapping[str, Any], key: str, ctx_name: str | None) -> bool:
    value = ctx.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"NATS context {ctx_name!r}: {key!r} must be true or false")
    return value
