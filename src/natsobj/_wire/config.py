"""A bucket's JetStream stream config, as nats.go builds it, and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from .meta import parse_time
from .models import (
    ObjectStoreConfig,
    ObjectStoreStatus,
)
from .names import (
    all_chunks_subject,
    all_meta_subject,
    bucket_from_stream,
    stream_name,
    validate_bucket_name,
)
from .replication import (
    MIRROR,
    is_read_only,
    kind_of,
    origins_of,
    replication_blocks,
    replication_from_info,
)

# ---------------------------------------------------------------------------------------------
# stream config


def stream_config(config: ObjectStoreConfig) -> dict[str, Any]:
    """The JetStream stream config for a bucket, as nats.go builds it; for a mirror, replica
    or aggregate, with its mirror or sources block (and no subjects unless writable)."""
    validate_bucket_name(config.bucket)
    copy, own_subjects = replication_blocks(
        config.bucket,
        mirror=config.mirror,
        sources=tuple(config.sources or ()),
        writable=config.writable,
    )
    ttl = config.ttl
    max_age = 0
    if ttl is not None:
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
        max_age = int(seconds * 1_000_000_000)
    doc: dict[str, Any] = {
        "name": stream_name(config.bucket),
        "subjects": [all_chunks_subject(config.bucket), all_meta_subject(config.bucket)],
        "max_age": max_age,
        "max_bytes": config.max_bytes if config.max_bytes else -1,
        "storage": config.storage or "file",
        "num_replicas": config.replicas or 1,
        "discard": "new",
        "allow_rollup_hdrs": True,
        "allow_direct": True,
        "compression": "s2" if config.compression else "none",
        **copy,
    }
    if not own_subjects:
        del doc["subjects"]
    if config.description:
        doc["description"] = config.description
    if config.placement:
        doc["placement"] = dict(config.placement)
    if config.metadata:
        doc["metadata"] = dict(config.metadata)
    return doc


def config_from_stream(stream_cfg: Mapping[str, Any]) -> ObjectStoreConfig:
    """The bucket config a stream config describes."""
    name = str(stream_cfg.get("name", ""))
    max_age = int(stream_cfg.get("max_age") or 0)
    max_bytes = int(stream_cfg.get("max_bytes") or -1)
    metadata = {
        k: v for k, v in (stream_cfg.get("metadata") or {}).items() if not k.startswith("_nats.")
    }
    origins = origins_of(stream_cfg)
    kind = kind_of(stream_cfg)
    return ObjectStoreConfig(
        bucket=bucket_from_stream(name) or name,
        description=stream_cfg.get("description") or None,
        ttl=timedelta(microseconds=max_age // 1000) if max_age > 0 else None,
        max_bytes=max_bytes if max_bytes > 0 else None,
        storage=str(stream_cfg.get("storage") or "file"),
        replicas=int(stream_cfg.get("num_replicas") or 1),
        compression=stream_cfg.get("compression", "none") not in ("none", "", None),
        placement=stream_cfg.get("placement") or None,
        metadata=metadata or None,
        mirror=origins[0] if kind == MIRROR and origins else None,
        sources=origins if kind not in (None, MIRROR) else (),
        writable=kind not in (None, MIRROR) and not is_read_only(stream_cfg),
    )


def status_from_stream(bucket: str, info: Mapping[str, Any]) -> ObjectStoreStatus:
    """A bucket's status from its stream's info."""
    config = info.get("config") or {}
    state = info.get("state") or {}
    cfg = config_from_stream(config)
    subjects = state.get("subjects")
    objects = len(subjects) if isinstance(subjects, dict) else int(state.get("num_subjects") or 0)
    return ObjectStoreStatus(
        bucket=bucket,
        description=cfg.description,
        ttl=cfg.ttl if not isinstance(cfg.ttl, float) else None,
        storage=cfg.storage,
        replicas=cfg.replicas,
        sealed=bool(config.get("sealed")),
        size=int(state.get("bytes") or 0),
        objects=objects,
        compression=cfg.compression,
        metadata=dict(cfg.metadata or {}),  # without the server's reserved _nats.* keys
        max_bytes=cfg.max_bytes,
        replication=replication_from_info(info),
        created=parse_time(info.get("created")),
        stream_info=info,
    )
