"""CopyObject: streamed with the MD5 for its ETag and the checksums S3 gives a copy computed on
the way, or an update of the meta when an object is copied onto itself; and the copy source's
rules, which UploadPartCopy shares."""

from __future__ import annotations

from .. import (
    ObjectInfo,
    ObjectMeta,
    ObjectNotFoundError,
    ObjectReader,
    ObjectStore,
    RevisionMismatchError,
)
from . import _checksums
from ._body import hashed
from ._conditions import put_condition, refused
from ._errors import S3Error
from ._http import Request, Response, xml_response
from ._multipart_checksums import COMPOSITE, algorithm_named
from ._rules import (
    CHECKSUM_HEADER,
    ETAG_HEADER,
    PRIVATE_PREFIX,
    bucket_for,
    check_key,
    check_onto_itself,
    checksum_fields,
    checksum_type_of,
    checksums_of,
    copy_source,
    etag_of,
    evaluate_conditions,
    last_modified,
    parts_of,
    shown_checksums,
    stored_meta,
)
from ._state import State
from ._xml import fields

__all__ = ["copy_meta", "copy_object", "open_copy_source"]


def copy_meta(req: Request, source: ObjectInfo) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Headers and metadata of a copy: the source's (COPY) or the request's (REPLACE)."""
    directive = req.headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.")
    if directive == "COPY":
        headers = {
            k: list(v) for k, v in source.headers.items() if not k.startswith(PRIVATE_PREFIX)
        }
        return headers, dict(source.metadata)
    headers, metadata = stored_meta(req.headers)
    return {k: [v] for k, v in headers.items()}, metadata


async def open_copy_source(state: State, req: Request) -> tuple[str, str, ObjectReader, ObjectInfo]:
    """The x-amz-copy-source object, opened (the caller closes the reader), once the caller's
    key may read its bucket and its x-amz-copy-source-if-* conditions hold."""
    src_bucket, src_key = copy_source(req.headers["x-amz-copy-source"])
    assert req.identity is not None
    if not req.identity.may_use(src_bucket):
        raise S3Error(
            "AccessDenied", f"key {req.identity.name!r} may not read bucket {src_bucket!r}"
        )
    reader = (await state.store(bucket_for(src_bucket))).open(src_key)
    try:
        await reader.__aenter__()
    except ObjectNotFoundError:
        raise S3Error("NoSuchKey", Key=src_key) from None
    info = reader.info
    assert info is not None
    etag, modified, prefix = etag_of(info), last_modified(info), "x-amz-copy-source-"
    decided = evaluate_conditions(req.headers, etag, modified, prefix=prefix)
    if decided is not None:
        await reader.aclose()
        raise S3Error("PreconditionFailed", Condition=decided[1])
    return src_bucket, src_key, reader, info


async def copy_object(state: State, req: Request) -> Response:
    key = check_key(req.key)
    store = await state.store(bucket_for(req.bucket))
    src_bucket, src_key, reader, info = await open_copy_source(state, req)
    try:
        named = req.headers.get("x-amz-checksum-algorithm")  # the copy's checksum, if asked
        asked = algorithm_named(named) if named is not None else None
        headers, metadata = copy_meta(req, info)
        headers.update(_kept_checksums(info) if asked is None else {})
        itself = (src_bucket, src_key) == (req.bucket, key)
        if itself:
            check_onto_itself(req.headers)
        in_place = itself and (info.bucket, info.name) == (store.bucket, key)  # not a link
        if in_place and not parts_of(info) and asked is None:
            stored = await _copy_onto_itself(store, info, headers, metadata)
        else:  # the bytes are copied: to another key, through a link onto itself, a multipart
            # object onto itself (a copy's ETag is its bytes' MD5, as S3 gives it), or to give
            # the copy the checksum it asks for, computed over them as S3 does
            recompute = asked or _recomputed(info)
            stored = await _copy_streamed(store, req, key, reader, headers, metadata, recompute)
    finally:
        await reader.aclose()
    state.applied(store.bucket, stored)
    # whole seconds, as S3 writes them here (and as Last-Modified says): 2023-11-15T12:02:40.000Z
    moment = last_modified(stored).replace(microsecond=0)
    sums = checksum_fields(shown_checksums(stored), checksum_type_of(stored))
    result = fields({"LastModified": moment, "ETag": etag_of(stored), **sums})
    return xml_response("CopyObjectResult", result)


def _recomputed(source: ObjectInfo) -> str | None:
    """The checksum a copy computes over its bytes: a COMPOSITE source's algorithm, S3's
    default for a source stored with none, else none (the source's are kept)."""
    if _composite(source):
        return next(iter(checksums_of(source)))
    return None if checksums_of(source) else _checksums.DEFAULT


def _kept_checksums(source: ObjectInfo) -> dict[str, list[str]]:
    """The checksums the source was stored with, kept by its copy whatever the metadata
    directive (the same bytes, so the same values), as S3 keeps them; not a COMPOSITE one,
    which describes the source's parts (the copy's is computed anew, FULL_OBJECT)."""
    if _composite(source):
        return {}
    return {CHECKSUM_HEADER + alg: [value] for alg, value in checksums_of(source).items()}


def _composite(info: ObjectInfo) -> bool:
    return checksum_type_of(info) == COMPOSITE


async def _copy_onto_itself(
    store: ObjectStore, info: ObjectInfo, headers: dict[str, list[str]], metadata: dict[str, str]
) -> ObjectInfo:
    private = {k: list(v) for k, v in info.headers.items() if k.startswith(PRIVATE_PREFIX)}
    meta = ObjectMeta(
        name=info.name,
        description=info.description,
        headers={**headers, **private},
        metadata=metadata,
    )
    return await store.update_meta(info.name, meta)


async def _copy_streamed(
    store: ObjectStore,
    req: Request,
    key: str,
    reader: ObjectReader,
    headers: dict[str, list[str]],
    metadata: dict[str, str],
    recompute: str | None = None,
) -> ObjectInfo:
    """The copy, with the checksum of the `recompute` algorithm computed over its bytes."""
    summed = _checksums.new(recompute) if recompute else None
    source, md5 = hashed(aiter(reader), *([summed] if summed else []))

    async def tag(info: ObjectInfo) -> dict[str, str]:
        sums = {CHECKSUM_HEADER + summed.algorithm: summed.b64()} if summed else {}
        return {ETAG_HEADER: md5.hexdigest(), **sums}

    if_revision = await put_condition(store, req)
    try:
        return await store.put(
            key, source, headers=headers, metadata=metadata, if_revision=if_revision,
            before_commit=tag,
        )  # fmt: skip
    except RevisionMismatchError:
        raise refused(req) from None
