"""Multipart uploads, kept in NATS so any gateway process can carry on one another started.

An object's chunks must lie in order on one subject and JetStream cannot concatenate on the
server. The upload's record lives in a hidden bucket (`STAGING`, with a TTL that expires
abandoned uploads) at `u/<bucket>/<key>/<id>` (its Content-Type, headers, metadata, owner, and
the nuid reserved for the object), each part's record at `p/<id>/<number>`. Parts that arrive
in order at the process that created the upload are written straight into the reserved nuid's
chunks (`_placement`); the others are staged there as ordinary objects. Complete appends what
is staged after the placed parts, or copies every part when they cannot be used as they lie
(`_assembly`), storing S3's multipart ETag (md5 of the part MD5s, "-N") and the part sizes; a
long Complete answers 200 at once and sends spaces until its XML, as S3 does. The record stays,
marked done, so a retried Complete answers the same again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from urllib.parse import quote

from .. import ObjectInfo, ObjectNotFoundError, ObjectStore, ObjectStoreError, RevisionMismatchError
from . import _checksums, _placement, _xml
from . import _multipart_checksums as _mpsums
from ._assembly import assemble, discard_run
from ._body import hashed
from ._conditions import complete_condition, refused, revision_now
from ._copy_ops import open_copy_source
from ._errors import S3Error, from_store_error
from ._http import Request, Response, xml_response
from ._multipart_checksums import UploadChecksum
from ._object_ops import put_object_verified
from ._placement import part_size
from ._rules import (
    CHECKSUM_HEADER,
    CHECKSUM_TYPE_HEADER,
    ETAG_HEADER,
    PART_SUMS_HEADER,
    bucket_for,
    check_key,
    checksum_fields,
    checksum_type_of,
    checksums_of,
    etag_of,
    last_modified,
    parse_copy_range,
    shown_checksums,
    stored_meta,
)
from ._state import State
from ._upload_lists import list_parts, list_uploads
from ._uploads import (
    MAX_PART,
    MIN_PART,
    STAGING,
    done_name,
    part_name,
    part_number,
    record_name,
    staging,
    upload_record,
)
from ._xml import fields

__all__ = ["abort", "complete", "create", "list_parts", "list_uploads", "upload_part"]

log = logging.getLogger("natsobj.s3")

KEEPALIVE_EVERY = 5.0

# ---------------------------------------------------------------------------------------------
# create, upload, list, abort


async def create(state: State, req: Request) -> Response:
    key = check_key(req.key)
    headers, metadata = stored_meta(req.headers)
    sums = _mpsums.created(
        req.headers.get("x-amz-checksum-algorithm"), req.headers.get("x-amz-checksum-type")
    )
    upload_id = secrets.token_urlsafe(24)
    assert req.identity is not None
    record = {
        "bucket": req.bucket,
        "key": key,
        "headers": headers,
        "metadata": metadata,
        "owner": req.identity.access_key,
        "initiated": datetime.now(timezone.utc).isoformat(),
        "checksum": sums.algorithm,
        "checksum_type": sums.type,
    }
    target = await state.store(bucket_for(req.bucket))
    run = target.runs.start()  # a read-only bucket (a mirror) refuses here: AccessDenied
    record["revision"] = await revision_now(target, key)  # for a conditional Complete
    record.update(nuid=run.nuid, chunk_size=run.chunk_size)
    store = await staging(state)
    await store.put(record_name(req.bucket, key, upload_id), json.dumps(record).encode())
    _placement.reserve(state, upload_id, req.bucket, key, run)
    body = fields({"Bucket": req.bucket, "Key": key, "UploadId": upload_id})
    response = xml_response("InitiateMultipartUploadResult", body)
    if sums.algorithm is not None and sums.type is not None:
        response.headers += [
            ("x-amz-checksum-algorithm", sums.algorithm),
            ("x-amz-checksum-type", sums.type),
        ]
    return response


async def upload_part(state: State, req: Request) -> Response:
    number = part_number(req)
    placement = _placement.placement_for(state, req)
    if placement is None:
        return await _upload_part(state, req, number, None)
    placement.arrived(number)
    turn = _placement.Turn()
    try:
        return await _upload_part(state, req, number, placement, turn)
    finally:
        placement.left(number, turn)


async def _upload_part(
    state: State,
    req: Request,
    number: int,
    placement: _placement.Placement | None,
    turn: _placement.Turn | None = None,
) -> Response:
    """Stage the part, or place it if it is its turn (the longer run in `turn`), with its
    upload's checksum (S3's default one for an upload created without)."""
    store, record = await upload_record(state, req)
    upload = _mpsums.of_record(record)
    sent = _checksums.requested(req.header_list)
    _mpsums.check_part(upload, sent)
    computed = (upload.computed,)
    declared = (
        req.headers.get("content-length")
        if "x-amz-decoded-content-length" not in req.headers
        else req.headers["x-amz-decoded-content-length"]
    )
    if declared and declared.isdigit() and int(declared) > MAX_PART:
        raise S3Error("EntityTooLarge", f"a part is at most {MAX_PART} bytes")
    name = part_name(req.query["uploadId"], number)
    if placement is not None and turn is not None:
        await _placement.body_early(req, placement, number)
    if placement is not None and turn is not None and await placement.turn(number, turn):
        target = await state.store(bucket_for(req.bucket))
        turn.run, recorded = await _placement.place_part(
            state, req, placement, target, store, name, computed
        )
        return _part_answer(f'"{recorded[ETAG_HEADER]}"', recorded, sent, upload)
    info = await put_object_verified(state, req, store, name, computed)
    stored = {CHECKSUM_HEADER + alg: value for alg, value in checksums_of(info).items()}
    return _part_answer(etag_of(info), stored, sent, upload)


def _part_answer(
    etag: str, recorded: dict[str, str], sent: dict[str, str | None], upload: UploadChecksum
) -> Response:
    """UploadPart's answer: its ETag and the checksums it sent or its upload has (not S3's
    default one, which S3 keeps quiet about)."""
    shown = [alg for alg in _checksums.ALGORITHMS if alg in sent or alg == upload.algorithm]
    out = [("ETag", etag)] + [
        (_checksums.header_name(alg), recorded[CHECKSUM_HEADER + alg])
        for alg in shown
        if CHECKSUM_HEADER + alg in recorded
    ]
    return Response(200, out)


async def upload_part_copy(state: State, req: Request) -> Response:
    number = part_number(req)
    store, record = await upload_record(state, req)
    upload = _mpsums.of_record(record)
    placement = _placement.placement_for(state, req)
    if placement is not None:
        placement.stop()  # a copied part is staged, so nothing after it can be placed
    _, _, reader, info = await open_copy_source(state, req)
    try:
        first, length = 0, info.size
        asked = req.headers.get("x-amz-copy-source-range")
        if asked is not None:
            span = parse_copy_range(asked, info.size)
            first, length = span[0], span[1] - span[0] + 1
        summed = _checksums.new(upload.computed)
        chunks, md5 = hashed(reader.iter_range(first, length), summed)

        async def tag(_: ObjectInfo) -> dict[str, str]:
            return {ETAG_HEADER: md5.hexdigest(), CHECKSUM_HEADER + upload.computed: summed.b64()}

        part = await store.put(part_name(req.query["uploadId"], number), chunks, before_commit=tag)
    finally:
        await reader.aclose()
    moment = last_modified(part).replace(microsecond=0)  # whole seconds, as S3 writes them
    sums = {f"Checksum{upload.algorithm}": summed.b64()} if upload.algorithm else {}
    body = fields({"ETag": etag_of(part), "LastModified": moment, **sums})
    return xml_response("CopyPartResult", body)


async def abort(state: State, req: Request) -> Response:
    store, record = await upload_record(state, req)
    placement = state.placements.pop(req.query["uploadId"], None)
    if placement is not None:
        await placement.settled()
    await _discard(state, store, req.bucket, req.key, req.query["uploadId"])
    if record.get("nuid"):
        await discard_run(await state.store(bucket_for(req.bucket)), str(record["nuid"]))
    return Response(204)


async def _discard(state: State, store: ObjectStore, bucket: str, key: str, upload_id: str) -> None:
    """Delete an upload's parts, then its record."""
    index = await state.index(STAGING)
    names = (await index.page(prefix=f"p/{upload_id}/", max_keys=10_000)).keys
    for start in range(0, len(names), 64):
        await asyncio.gather(*(_delete_quietly(state, store, n) for n in names[start : start + 64]))
    await _delete_quietly(state, store, record_name(bucket, key, upload_id))


async def _delete_quietly(state: State, store: ObjectStore, name: str) -> None:
    with contextlib.suppress(ObjectNotFoundError):
        state.applied(STAGING, await store.delete(name))


# ---------------------------------------------------------------------------------------------
# complete


def _asked_parts(raw: bytes) -> list[tuple[int, str, dict[str, str]]]:
    """Complete's parts: number, ETag and the checksums each carries ({algorithm: base64});
    a Complete with no body at all names none, which S3 refuses as InvalidRequest."""
    if not raw.strip():
        raise S3Error("InvalidRequest", "You must specify at least one part")
    doc = _xml.parse(raw, "CompleteMultipartUpload")
    asked = []
    for part in doc.findall("Part"):
        number_text, etag = _xml.child_text(part, "PartNumber"), _xml.child_text(part, "ETag")
        if not number_text or not number_text.strip().isdigit() or etag is None:
            raise S3Error("MalformedXML", "every <Part> needs a <PartNumber> and an <ETag>")
        sums = {
            alg: value.strip()
            for alg in _checksums.ALGORITHMS
            if (value := _xml.child_text(part, f"Checksum{alg}")) is not None
        }
        asked.append((int(number_text), etag.strip().strip('"'), sums))
    if not asked:
        raise S3Error("MalformedXML", "CompleteMultipartUpload needs at least one <Part>")
    numbers = [n for n, _, _ in asked]
    if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
        raise S3Error("InvalidPartOrder")
    return asked


async def complete(state: State, req: Request) -> Response:
    upload_id = req.query.get("uploadId", "")
    staging_store = await staging(state)
    target = await state.store(bucket_for(req.bucket))
    raw = await req.body().read_all(_xml.MAX_XML_BYTES)
    record = await _record_or_done(staging_store, req.bucket, req.key, upload_id)
    with _naming_upload(upload_id):
        asked = _asked_parts(raw)
        etag = _multipart_etag([e for _, e, _ in asked])
        if record.get("done"):  # a retry of a Complete that succeeded
            return await _completed_again(target, req, record, etag)
        parts = await _checked_parts(staging_store, upload_id, asked)
        _check_object_size(req.headers.get("x-amz-mp-object-size"), parts)
        sums = _completed_sums(req, _mpsums.of_record(record), asked, parts)
    began = record.get("revision")
    if_revision = await complete_condition(target, req, began if isinstance(began, int) else None)

    async def run() -> ObjectInfo:
        try:
            info = await assemble(
                state, target, staging_store, upload_id, record, parts, etag, if_revision, sums
            )
        except RevisionMismatchError:
            raise refused(req) from None
        state.applied(target.bucket, info)
        done = {**record, "done": True, "etag": etag}
        await staging_store.put(
            done_name(req.bucket, req.key, upload_id), json.dumps(done).encode()
        )
        # out of ListMultipartUploads: S3 lists (and takes parts for) no completed upload
        await _delete_quietly(state, staging_store, record_name(req.bucket, req.key, upload_id))
        # the parts are not needed any more: deleting them is no part of the answer
        state.background(_discard_parts(state, staging_store, upload_id, parts))
        return info

    task = asyncio.ensure_future(run())
    answer = _keepalive(task, req, _result(req, etag, _result_sums(sums, len(parts))))
    return Response(200, [("Content-Type", "application/xml")], answer)


def _completed_sums(
    req: Request,
    upload: UploadChecksum,
    asked: list[tuple[int, str, dict[str, str]]],
    parts: list[ObjectInfo],
) -> dict[str, str]:
    """Complete's checksum checks; the completed object's checksum headers (none if a part
    has no checksum of the upload's algorithm: one staged before checksums were kept)."""
    stored = [checksums_of(p) for p in parts]
    kind = req.headers.get("x-amz-checksum-type")
    _mpsums.check_complete(upload, kind, asked, stored)
    alg, checksum_type = upload.computed, upload.computed_type
    if any(alg not in s for s in stored):
        return {}
    values = [s[alg] for s in stored]
    value = _mpsums.combined(
        alg, checksum_type, list(zip(values, map(part_size, parts), strict=True))
    )
    sent = {
        a: req.headers[_checksums.header_name(a)].strip()
        for a in _checksums.ALGORITHMS
        if _checksums.header_name(a) in req.headers
    }
    _mpsums.check_whole(upload, kind, sent, value)
    out = {CHECKSUM_HEADER + alg: value, CHECKSUM_TYPE_HEADER: checksum_type}
    if checksum_type == _mpsums.COMPOSITE:
        out[PART_SUMS_HEADER] = ",".join(values)
    return out


def _result_sums(headers: dict[str, str], count: int) -> dict[str, str]:
    """The ChecksumX and ChecksumType of Complete's result, from the object's headers."""
    kind = headers.get(CHECKSUM_TYPE_HEADER, _mpsums.FULL_OBJECT)
    sums = {
        name[len(CHECKSUM_HEADER) :]: _mpsums.shown(value, kind, count)
        for name, value in headers.items()
        if name.startswith(CHECKSUM_HEADER)
    }
    return checksum_fields(sums, kind)


@contextlib.contextmanager
def _naming_upload(upload_id: str) -> Iterator[None]:
    """Complete's errors about the parts it lists (InvalidPart, InvalidPartOrder) name the
    upload, as S3's do."""
    try:
        yield
    except S3Error as err:
        if err.code in ("InvalidPart", "InvalidPartOrder"):
            err.fields.setdefault("UploadId", upload_id)
        raise


async def _record_or_done(
    store: ObjectStore, bucket: str, key: str, upload_id: str
) -> dict[str, object]:
    """The upload's record, or the record of it completed (a retried Complete)."""
    if not upload_id or "/" in upload_id:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    for name in (record_name(bucket, key, upload_id), done_name(bucket, key, upload_id)):
        with contextlib.suppress(ObjectNotFoundError):
            record: dict[str, object] = json.loads(await store.get(name))
            return record
    raise S3Error("NoSuchUpload", UploadId=upload_id)


async def _completed_again(
    target: ObjectStore, req: Request, record: dict[str, object], etag: str
) -> Response:
    try:
        info = await target.get_info(req.key)
    except ObjectNotFoundError:
        raise S3Error("NoSuchUpload", UploadId=req.query.get("uploadId", "")) from None
    if etag_of(info) != f'"{record.get("etag")}"' or record.get("etag") != etag:
        raise S3Error("NoSuchUpload", UploadId=req.query.get("uploadId", ""))
    sums = checksum_fields(shown_checksums(info), checksum_type_of(info))
    return xml_response("CompleteMultipartUploadResult", _result(req, etag, sums))


def _result(req: Request, etag: str, sums: dict[str, str]) -> str:
    """The fields of CompleteMultipartUploadResult."""
    return fields(
        {
            "Location": f"/{req.bucket}/{quote(req.key, safe='/')}",  # percent-encoded, as S3
            "Bucket": req.bucket,
            "Key": req.key,
            "ETag": f'"{etag}"',
            **sums,
        }
    )


def _multipart_etag(part_etags: list[str]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags)).hexdigest()
    return f"{digest}-{len(part_etags)}"


async def _checked_parts(
    store: ObjectStore, upload_id: str, asked: list[tuple[int, str, dict[str, str]]]
) -> list[ObjectInfo]:
    infos = await asyncio.gather(
        *(store.get_info(part_name(upload_id, n)) for n, _, _ in asked), return_exceptions=True
    )
    parts = []
    for (number, etag, _), info in zip(asked, infos, strict=True):
        if isinstance(info, BaseException) and not isinstance(info, ObjectNotFoundError):
            raise info
        if not isinstance(info, ObjectInfo) or etag_of(info).strip('"') != etag:
            raise S3Error("InvalidPart", PartNumber=str(number), ETag=etag)
        parts.append(info)
    for (number, etag, _), info in zip(asked[:-1], parts[:-1], strict=True):
        if part_size(info) < MIN_PART:
            raise S3Error(
                "EntityTooSmall",
                ProposedSize=str(part_size(info)),
                MinSizeAllowed=str(MIN_PART),
                PartNumber=str(number),
                ETag=etag,
            )
    return parts


def _check_object_size(declared: str | None, parts: list[ObjectInfo]) -> None:
    """Complete's x-amz-mp-object-size, if sent, must be the parts' total size."""
    total = sum(part_size(p) for p in parts)
    if declared is not None and declared.strip() != str(total):
        raise S3Error(
            "InvalidRequest",
            f"The provided 'x-amz-mp-object-size' header value {declared} does not match what "
            f"was computed: {total}",
        )


async def _discard_parts(
    state: State, store: ObjectStore, upload_id: str, parts: list[ObjectInfo]
) -> None:
    index = await state.index(STAGING)
    page = await index.page(prefix=f"p/{upload_id}/", max_keys=10_000)
    names = set(page.keys) | {p.name for p in parts}
    ordered = sorted(names)
    for start in range(0, len(ordered), 64):
        await asyncio.gather(
            *(_delete_quietly(state, store, n) for n in ordered[start : start + 64])
        )


async def _keepalive(
    task: asyncio.Future[ObjectInfo], req: Request, result: str
) -> AsyncIterator[bytes]:
    """S3's answer to a long Complete: 200 at once, spaces while it runs, then the result (or
    an <Error> document, which SDKs read as a failure)."""
    yield _xml.HEAD.encode()
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=KEEPALIVE_EVERY)
            if done:
                break
            yield b" "
        task.result()
    except (S3Error, ObjectStoreError) as exc:
        yield _late_error(req, _as_s3_error(exc, req))
        return
    except Exception as exc:
        log.exception("request %s: completing the upload failed", req.request_id)
        yield _late_error(req, S3Error("InternalError", f"completing the upload failed: {exc}"))
        return
    finally:
        if not task.done():  # the client left: finish anyway, so its retry finds it done
            task.add_done_callback(functools.partial(_finished_alone, req.request_id))
    yield f'<CompleteMultipartUploadResult xmlns="{_xml.NS}">{result}</CompleteMultipartUploadResult>'.encode()  # noqa: E501


def _as_s3_error(exc: S3Error | ObjectStoreError, req: Request) -> S3Error:
    """The S3 error of a failed assembly (a store error as the gateway maps it: NATS away or
    slow is ServiceUnavailable, which SDKs retry)."""
    if isinstance(exc, S3Error):
        return exc
    return from_store_error(exc, bucket=req.bucket, key=req.key)


def _late_error(req: Request, err: S3Error) -> bytes:
    """An <Error> document to follow the XML declaration already sent."""
    return _xml.error_body(err, request_id=req.request_id)[len(_xml.HEAD) :]


def _finished_alone(request_id: str, task: asyncio.Future[ObjectInfo]) -> None:
    """How a Complete whose client left ended (its retry answers from the record)."""
    if task.cancelled():
        log.warning("request %s: the upload's completion was cancelled", request_id)
    elif task.exception() is not None:
        log.warning("request %s: completing the upload failed: %s", request_id, task.exception())
    else:
        log.info("request %s: the upload completed after its client left", request_id)
