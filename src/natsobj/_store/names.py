"""Paged listings of big buckets: every name from one STREAM.INFO, metas a page at a time.

A full listing reads every meta (about 11 µs each here); a page of a listing needs only the
names, which STREAM.INFO gives without reading a message (0.2 s for 100,000 names, against
1.1-1.7 s for `list()`), and then the metas of that page, which one batched direct get
(ADR-31 multi_last, up to 1024 subjects) returns in about 30 ms per 1000.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from .. import _wire as wire
from .._jetstream import MULTI_LAST_LIMIT, last_of_subjects
from .._wire.errors import BadObjectMetaError, JetStreamAPIError, StoreTimeoutError
from .._wire.models import ObjectInfo
from .bucket import Bucket, server_time

log = logging.getLogger("natsobj")

_ONE_BY_ONE = 64
"""Metas read at once when a batched read is not possible."""


async def meta_names(bucket: Bucket) -> list[str]:
    """Every name that has a meta in the bucket, sorted (code point order, which is UTF-8
    byte order): live objects and the delete markers the bucket keeps. No meta is read."""
    info = await bucket.js.stream_info(
        bucket.stream, bucket=bucket.name, subjects_filter=wire.all_meta_subject(bucket.name)
    )
    cut = len(wire.meta_subject_token(bucket.name, ""))
    names = set()
    for subject in info.get("state", {}).get("subjects") or {}:
        name = wire.decode_name_token(subject[cut:])
        if name is not None:
            names.add(name)
    return sorted(names)


async def get_infos(
    bucket: Bucket, names: Iterable[str], *, show_deleted: bool = False
) -> dict[str, ObjectInfo]:
    """The infos of `names` that exist (deleted ones only with show_deleted), read in batches
    of MULTI_LAST_LIMIT subjects; names with no object are left out."""
    subjects: dict[str, str] = {}  # meta subject -> name
    for name in names:
        wire.validate_object_name(name)
        subjects[wire.meta_subject(bucket.name, name)] = name
        latin1 = wire.encode_name_latin1(name)
        if latin1 is not None:  # nats.js wrote non-ASCII names as Latin-1
            subjects[wire.meta_subject_token(bucket.name, latin1)] = name
    found: dict[str, ObjectInfo] = {}
    batch = list(subjects)
    for start in range(0, len(batch), MULTI_LAST_LIMIT):
        part = batch[start : start + MULTI_LAST_LIMIT]
        infos = await _read_batch(bucket, part) if bucket.direct else None
        if infos is None:  # no direct get, or a server without multi_last
            infos = await _read_one_by_one(bucket, part)
        for subject, info in infos.items():
            name = subjects[subject]
            if name not in found or found[name].revision < info.revision:
                found[name] = info
    if show_deleted:
        return found
    return {name: info for name, info in found.items() if not info.deleted}


async def _read_batch(bucket: Bucket, subjects: list[str]) -> dict[str, ObjectInfo] | None:
    try:
        stored = await last_of_subjects(
            bucket.js, bucket.stream, subjects, timeout=bucket.settings.chunk_timeout
        )
    except (JetStreamAPIError, StoreTimeoutError) as exc:
        log.debug("batched meta read of %s failed (%s); reading one by one", bucket.name, exc)
        return None
    out: dict[str, ObjectInfo] = {}
    stale: list[str] = []
    for msg in stored:
        if msg.seq < bucket.known.floor(msg.subject):
            stale.append(msg.subject)  # a replica behind this client's own writes
            continue
        try:
            out[msg.subject] = wire.decode_meta(
                msg.data, server_time=server_time(msg), revision=msg.seq
            )
        except BadObjectMetaError as exc:
            log.warning("skipping unreadable meta on %s: %s", msg.subject, exc)
    answered = {msg.subject for msg in stored}
    stale += [s for s in subjects if s not in answered and bucket.known.floor(s) > 0]
    if stale:
        out.update(await _read_one_by_one(bucket, stale))
    return out


async def _read_one_by_one(bucket: Bucket, subjects: list[str]) -> dict[str, ObjectInfo]:
    out: dict[str, ObjectInfo] = {}

    async def one(subject: str) -> None:
        try:
            info = await bucket.info_at(subject)
        except BadObjectMetaError as exc:
            log.warning("skipping unreadable meta on %s: %s", subject, exc)
            return
        if info is not None:
            out[subject] = info

    for start in range(0, len(subjects), _ONE_BY_ONE):
        await asyncio.gather(*(one(s) for s in subjects[start : start + _ONE_BY_ONE]))
    return out
