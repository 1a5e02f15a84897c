"""Object operations: put (verified: payload hash, Content-MD5, x-amz-checksum-*, before the
meta is stored), get and head (ranges, parts, conditions, response-* overrides), delete and
delete many; copies are _copy_ops', attributes _attributes'."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Mapping

from .. import (
    ObjectInfo,
    ObjectNotFoundError,
    ObjectReader,
    ObjectStore,
    ObjectStoreError,
    RevisionMismatchError,
)
from . import _checksums, _xml
from ._absent import check_no_governance_bypass
from ._body import Body
from ._bucket_ops import acl_response
from ._conditions import delete_condition, put_condition, refused
from ._errors import S3Error, from_store_error
from ._http import Request, Response, xml_response
from ._multipart_checksums import COMPOSITE
from ._payload import payload_of
from ._rules import (
    CHECKSUM_HEADER,
    ETAG_HEADER,
    bucket_for,
    check_key,
    check_version,
    checksum_type_of,
    checksums_of,
    digest_checksum,
    etag_of,
    evaluate_conditions,
    last_modified,
    object_headers,
    parse_range,
    part_checksums_of,
    parts_of,
    sha256_b64,
    shown_checksums,
    stored_meta,
)
from ._state import State
from ._xml import element, fields

_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


# ---------------------------------------------------------------------------------------------
# put


async def put_object(state: State, req: Request) -> Response:
    store = await state.store(bucket_for(req.bucket))
    info = await put_object_verified(state, req, store, check_key(req.key), default=True)
    state.applied(store.bucket, info)
    out = [("ETag", etag_of(info))]
    sums = checksums_of(info)
    out += [(f"x-amz-checksum-{alg.lower()}", value) for alg, value in sums.items()]
    out += [("x-amz-checksum-type", "FULL_OBJECT")] if sums else []  # as S3 answers a PUT
    return Response(200, out)


async def put_object_verified(
    state: State,
    req: Request,
    store: ObjectStore,
    name: str,
    computed: tuple[str, ...] = (),
    *,
    default: bool = False,
) -> ObjectInfo:
    """Store the request's body as `name`: verified before its meta is stored, conditional on
    If-None-Match / If-Match, with the request's headers and metadata (PutObject, UploadPart),
    and the checksums of the `computed` algorithms too (`default`: S3's default checksum if
    the request sends none, as S3 computes and keeps it)."""
    headers, metadata = stored_meta(req.headers)
    wanted = _checksums.requested(req.header_list)
    if default and not wanted:
        computed = (*computed, _checksums.DEFAULT)
    if_revision = await put_condition(store, req)
    body = req.body(algorithms=_hashed_here({**wanted, **dict.fromkeys(computed)}))

    async def verify(info: ObjectInfo) -> dict[str, str]:
        return verified_headers(req, body, info.digest_hex, wanted, computed)

    try:
        return await store.put(
            name,
            await payload_of(body),
            headers=headers,
            metadata=metadata,
            if_revision=if_revision,
            before_commit=verify,
        )
    except RevisionMismatchError:
        raise refused(req) from None


def _hashed_here(wanted: Mapping[str, object]) -> tuple[str, ...]:
    # the SHA-256 is the object's own NATS digest: not computed twice
    return tuple(alg for alg in wanted if alg != "SHA256")


def check_content_md5(req: Request, body: Body) -> None:
    """A Content-MD5 that is not the body's: BadDigest, with S3's CalculatedDigest (base64)
    and ExpectedDigest (hex for a PutObject, as sent for an UploadPart)."""
    md5 = _checksums.content_md5(req.header_list)
    if md5 is None or md5 == body.md5_digest:
        return
    raise S3Error(
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
        CalculatedDigest=base64.b64encode(body.md5_digest).decode(),
        ExpectedDigest=req.headers["content-md5"] if "uploadId" in req.query else md5.hex(),
    )


def verified_headers(
    req: Request,
    body: Body,
    sha256_hex: str | None,
    wanted: dict[str, str | None],
    computed: tuple[str, ...] = (),
) -> dict[str, str]:
    """Check what the client declared against what arrived (`sha256_hex`: the body's SHA-256),
    before the meta is stored (a mismatch raises, and the put stores nothing); the gateway's
    headers for the meta, with the checksums of the `computed` algorithms."""
    signed = req.verified.payload_sha256 if req.verified is not None else None
    if signed is not None and signed != sha256_hex:
        raise S3Error(
            "XAmzContentSHA256Mismatch",
            ClientComputedContentSHA256=signed,
            S3ComputedContentSHA256=sha256_hex or "",
        )
    check_content_md5(req, body)
    out = {ETAG_HEADER: body.md5_hex}

    def actual(alg: str) -> str:  # the SHA-256 is the body's NATS digest, computed once
        return sha256_b64(sha256_hex) if alg == "SHA256" else body.checksum_b64(alg)

    for alg, declared in wanted.items():
        expected = declared or body.trailers.get(f"x-amz-checksum-{alg.lower()}")
        if expected is None:
            raise S3Error("InvalidRequest", f"the x-amz-checksum-{alg.lower()} trailer is missing")
        if expected != actual(alg):
            raise S3Error(
                "BadDigest", f"The {alg} you specified did not match the calculated checksum."
            )
        out[CHECKSUM_HEADER + alg] = expected
    for alg in computed:
        out[CHECKSUM_HEADER + alg] = actual(alg)
    return out


# ---------------------------------------------------------------------------------------------
# get and head


async def open_object(state: State, req: Request) -> ObjectReader:
    """The object a GET-like request names, opened (NoSuchKey if there is none)."""
    check_version(req.query.get("versionId"))
    store = await state.store(bucket_for(req.bucket))
    reader = store.open(req.key)
    try:
        await reader.__aenter__()
    except ObjectNotFoundError:
        raise S3Error("NoSuchKey", Key=req.key) from None
    return reader


async def get_object(state: State, req: Request, *, head: bool = False) -> Response:
    reader = await open_object(state, req)
    try:
        info = reader.info
        assert info is not None
        status, headers, span = _describe(req, info)
        first, length = span
        if head or length == 0:
            await reader.aclose()
            return Response(status, headers, b"", length=length)
        chunks = (
            reader.iter_range(first, length) if (first, length) != (0, info.size) else aiter(reader)
        )
        return Response(status, headers, _closing(reader, chunks), length=length)
    except BaseException:
        await reader.aclose()
        raise


async def head_object(state: State, req: Request) -> Response:
    return await get_object(state, req, head=True)


def _describe(req: Request, info: ObjectInfo) -> tuple[int, list[tuple[str, str]], tuple[int, int]]:
    """(status, headers, (first byte, length)) of a GET or HEAD of `info`."""
    etag, modified = etag_of(info), last_modified(info)
    verdict, condition = evaluate_conditions(req.headers, etag, modified) or (None, "")
    if verdict == 412:
        raise S3Error("PreconditionFailed", Condition=condition)
    headers = object_headers(info)
    if parts_of(info) and "partNumber" in req.query:  # S3 counts the parts only for a part
        headers.append(("x-amz-mp-parts-count", str(len(parts_of(info)))))
    if verdict == 304:
        keep = {"ETag", "Last-Modified"}
        return 304, [(k, v) for k, v in headers if k in keep], (0, 0)
    span = _span(req, info, headers)
    status = 206 if any(k == "Content-Range" for k, _ in headers) else 200
    if req.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
        headers += _checksum_headers(req, info, span)
    for param, header in _OVERRIDES.items():
        if param in req.query:
            headers = [(k, v) for k, v in headers if k != header] + [(header, req.query[param])]
    return status, headers, span


def _checksum_headers(
    req: Request, info: ObjectInfo, span: tuple[int, int]
) -> list[tuple[str, str]]:
    """The checksum of a GET or HEAD in checksum mode: a COMPOSITE object's part's (partNumber),
    the object's (all of it), else none."""
    part_sums, number = part_checksums_of(info), req.query.get("partNumber", "")
    if part_sums and number.isdigit() and 1 <= int(number) <= len(part_sums):
        alg = next(iter(checksums_of(info)))
        value = part_sums[int(number) - 1]
        return [(_checksums.header_name(alg), value), ("x-amz-checksum-type", COMPOSITE)]
    if span != (0, info.size):
        return []
    sums = shown_checksums(info) or digest_checksum(info)
    out = [(_checksums.header_name(alg), value) for alg, value in sums.items()]
    return out + ([("x-amz-checksum-type", checksum_type_of(info))] if sums else [])


def _span(req: Request, info: ObjectInfo, headers: list[tuple[str, str]]) -> tuple[int, int]:
    """The bytes a Range or partNumber asks for (adds Content-Range to `headers`)."""
    size = info.size
    part = req.query.get("partNumber")
    if part is not None:
        if "range" in req.headers:
            raise S3Error(
                "InvalidRequest", "Cannot specify both Range header and partNumber query parameter"
            )
        first, last = _part_span(part, parts_of(info) or [size])
    else:
        asked = parse_range(req.headers.get("range"), size)
        if asked is None:
            return 0, size
        first, last = asked
    headers.append(("Content-Range", f"bytes {first}-{last}/{size}" if size else "bytes */0"))
    return first, last - first + 1


def _part_span(text: str, parts: list[int]) -> tuple[int, int]:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= 10_000:
        raise S3Error(
            "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive"
        )
    if number > len(parts):
        err = S3Error(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            PartNumberRequested=str(number),
            ActualPartCount=str(len(parts)),
        )
        err.status = 416
        raise err
    first = sum(parts[: number - 1])
    return first, first + parts[number - 1] - 1


async def _closing(reader: ObjectReader, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await reader.aclose()


# ---------------------------------------------------------------------------------------------
# delete


async def delete_object(state: State, req: Request) -> Response:
    check_version(req.query.get("versionId"))
    store = await state.store(bucket_for(req.bucket))
    check_no_governance_bypass(req)
    if_revision = await delete_condition(store, req)
    try:
        info = await store.delete(req.key, if_revision=if_revision)
        state.applied(store.bucket, info)
    except ObjectNotFoundError:
        pass  # deleting what is not there succeeds, as on S3
    except RevisionMismatchError:  # written or deleted since If-Match was checked
        raise S3Error("PreconditionFailed", Condition="If-Match") from None
    return Response(204)


async def delete_objects(state: State, req: Request) -> Response:
    store = await state.store(bucket_for(req.bucket))
    check_no_governance_bypass(req)
    wanted = _checksums.requested(req.header_list)
    body = req.body(algorithms=_hashed_here(wanted))
    raw = await body.read_all(_xml.MAX_XML_BYTES)
    _check_small_body(req, body, raw, wanted)
    doc = _xml.parse(raw, "Delete")
    quiet = (_xml.child_text(doc, "Quiet") or "").strip().lower() == "true"
    entries = [
        (_xml.child_text(o, "Key"), _xml.child_text(o, "VersionId")) for o in doc.findall("Object")
    ]
    if not entries or len(entries) > 1000:
        raise S3Error("MalformedXML", "DeleteObjects takes 1 to 1000 keys")

    async def one(key: str | None, version: str | None) -> str:
        if not key:
            return _delete_error("", "InvalidArgument", "an <Object> has no <Key>")
        if version not in (None, "null"):
            return _delete_error(
                key, "NoSuchVersion", "The specified version does not exist.", version
            )
        try:
            state.applied(store.bucket, await store.delete(key))
        except ObjectNotFoundError:
            pass
        except ObjectStoreError as exc:
            err = from_store_error(exc, key=key)
            return _delete_error(key, err.code, err.message)
        return "" if quiet else f"<Deleted>{element('Key', key)}</Deleted>"

    results: list[str] = []
    for start in range(0, len(entries), 64):
        batch = entries[start : start + 64]
        results += await asyncio.gather(*(one(k, v) for k, v in batch))
    return xml_response("DeleteResult", "".join(results))


def _delete_error(key: str, code: str, message: str, version: str | None = None) -> str:
    about = {"Key": key, "Code": code, "Message": message}
    if version is not None:
        about["VersionId"] = version
    return f"<Error>{fields(about)}</Error>"


def _check_small_body(req: Request, body: Body, raw: bytes, wanted: dict[str, str | None]) -> None:
    """The declared digests of a small request body (an XML document)."""
    signed = req.verified.payload_sha256 if req.verified is not None else None
    if signed is not None and signed != hashlib.sha256(raw).hexdigest():
        raise S3Error("XAmzContentSHA256Mismatch")
    check_content_md5(req, body)
    for alg, declared in wanted.items():
        expected = declared or body.trailers.get(f"x-amz-checksum-{alg.lower()}")
        actual = (
            base64.b64encode(hashlib.sha256(raw).digest()).decode()
            if alg == "SHA256"
            else body.checksum_b64(alg)
        )
        if expected != actual:
            raise S3Error(
                "BadDigest", f"The {alg} you specified did not match the calculated checksum."
            )


# ---------------------------------------------------------------------------------------------
# ACLs (attributes: _attributes)


async def get_acl(state: State, req: Request) -> Response:
    reader = await open_object(state, req)
    await reader.aclose()
    return acl_response(req)
