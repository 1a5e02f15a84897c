"""ListParts and ListMultipartUploads, from the staging bucket's listing index."""

from __future__ import annotations

import asyncio
import json
from bisect import bisect_left, bisect_right
from datetime import datetime, timezone

from .. import BucketNotFoundError, ObjectNotFoundError, ObjectStore
from . import _listing
from ._bucket_ops import owner_xml
from ._errors import S3Error
from ._http import Request, Response, xml_response
from ._multipart_checksums import UploadChecksum, of_record
from ._placement import part_size
from ._rules import bucket_for, checksums_of, part_page
from ._state import State
from ._uploads import STAGING, part_name, record_name, staging, upload_record
from ._xml import Raw, element, fields

_BATCH = 64
"""Upload records read at a time while a page fills."""
_EPOCH = datetime.fromtimestamp(0, timezone.utc)


async def list_parts(state: State, req: Request) -> Response:
    store, record = await upload_record(state, req)
    upload_id = req.query["uploadId"]
    marker, max_parts = part_page(
        req.query.get("part-number-marker"),
        req.query.get("max-parts"),
        "part-number-marker and max-parts",
    )
    index = await state.index(STAGING)
    prefix = f"p/{upload_id}/"
    page = await index.page(
        prefix=prefix, after=part_name(upload_id, marker) if marker else "", max_keys=max_parts
    )
    upload = of_record(record)
    sums = await _part_sums(store, page.keys, upload.algorithm)
    parts = []
    last = 0
    for name in page.keys:
        entry = index.entry(name)
        if entry is None:
            continue
        last = int(name[len(prefix) :])
        values = {
            "PartNumber": last,
            "LastModified": entry.modified,
            "ETag": entry.etag,
            "Size": entry.size or await _placed_size(store, name),
        }
        if name in sums:  # only an upload created with an algorithm lists its parts' sums
            values[f"Checksum{upload.algorithm}"] = sums[name]
        parts.append(f"<Part>{fields(values)}</Part>")
    owner = _owner(state, record.get("owner"))
    head = {
        "Bucket": req.bucket, "Key": req.key, "UploadId": upload_id,
        "Initiator": owner, "Owner": owner, "StorageClass": "STANDARD",
        "PartNumberMarker": marker, "NextPartNumberMarker": last,  # 0: none listed, past marker too
        "MaxParts": max_parts, "IsTruncated": page.truncated,
        "ChecksumAlgorithm": upload.algorithm, "ChecksumType": upload.type,
    }  # fmt: skip
    return xml_response("ListPartsResult", fields(head) + "".join(parts))


async def _part_sums(store: ObjectStore, names: list[str], algorithm: str | None) -> dict[str, str]:
    """The parts' checksums of the upload's algorithm (none for an upload without one, as S3
    lists them), read from their records."""
    if algorithm is None:
        return {}

    async def one(name: str) -> str | None:
        try:
            return checksums_of(await store.get_info(name)).get(algorithm)
        except ObjectNotFoundError:
            return None

    found = await asyncio.gather(*(one(name) for name in names))
    return {name: value for name, value in zip(names, found, strict=True) if value is not None}


async def _placed_size(store: ObjectStore, name: str) -> int:
    """The size of a part whose record is empty: a placed part's, from its record's headers
    (or 0: an empty staged part, or a record gone meanwhile)."""
    try:
        return part_size(await store.get_info(name))
    except ObjectNotFoundError:
        return 0


async def list_uploads(state: State, req: Request) -> Response:
    """The bucket's uploads in progress, as S3 lists them: by key (UTF-8 byte order), a key's
    uploads in the order they were started; common prefixes counted against max-uploads."""
    await state.store(bucket_for(req.bucket))
    q = req.query
    encoding, enc = _listing.encoder(q.get("encoding-type"))
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    max_uploads = (
        min(int(q.get("max-uploads") or 1000), 1000)
        if (q.get("max-uploads") or "1").isdigit()
        else 1000
    )
    key_marker = q.get("key-marker", "")
    id_marker = q.get("upload-id-marker", "") if key_marker else ""  # S3 ignores it alone
    pending = await _pending(state, req.bucket, prefix)
    pending = pending[_start(pending, key_marker, id_marker) :]
    shown, truncated = await _page(
        state, req.bucket, pending, prefix, delimiter, key_marker, max_uploads
    )
    uploads = [item for item in shown if not isinstance(item, str)]
    next_key, next_id = (uploads[-1][0], uploads[-1][1]) if uploads else ("", "")
    if truncated and isinstance(shown[-1], str):  # where the next page starts (S3 says "")
        next_key, next_id = shown[-1], ""
    body = fields({
        "Bucket": req.bucket, "KeyMarker": enc(key_marker), "UploadIdMarker": id_marker,
        "NextKeyMarker": enc(next_key), "NextUploadIdMarker": next_id,
        "Prefix": enc(prefix) if "prefix" in q else None,
        "Delimiter": enc(delimiter) if delimiter else None, "MaxUploads": max_uploads,
        "EncodingType": encoding, "IsTruncated": truncated,
    })  # fmt: skip
    for key, upload_id, initiated, owner, checksum in uploads:
        values = {
            "Key": enc(key), "UploadId": upload_id, "Initiator": owner, "Owner": owner,
            "StorageClass": "STANDARD", "Initiated": initiated,
            "ChecksumAlgorithm": checksum.algorithm, "ChecksumType": checksum.type,
        }  # fmt: skip
        body += f"<Upload>{fields(values)}</Upload>"
    body += "".join(
        f"<CommonPrefixes>{element('Prefix', enc(p))}</CommonPrefixes>"
        for p in shown
        if isinstance(p, str)
    )
    return xml_response("ListMultipartUploadsResult", body)


Pending = tuple[str, str, datetime | None]
"""An upload's key, id and start time (its record's time: a live record is written once)."""
Listed = tuple[str, str, datetime | None, Raw, UploadChecksum]
"""An upload on a page: key, id, start time, owner, the checksum it was created with."""


async def _pending(state: State, bucket: str, prefix: str) -> list[Pending]:
    """The uploads under `prefix` whose records the staging bucket holds, in S3's order."""
    base = f"u/{bucket}/"
    try:
        index = await state.index(STAGING)
    except BucketNotFoundError:  # no upload was ever started through this NATS
        return []
    names = (await index.page(prefix=base + prefix, max_keys=100_000)).keys
    found = []
    for name in names:
        key, _, upload_id = name[len(base) :].rpartition("/")
        entry = index.entry(name)
        found.append((key, upload_id, entry.modified if entry else None))
    # not the names' order: "u/b/a/<id>" sorts after "u/b/a-/<id>", key "a" before "a-"
    found.sort(key=lambda u: (u[0].encode(), u[2] or _EPOCH, u[1]))
    return found


def _start(pending: list[Pending], key_marker: str, id_marker: str) -> int:
    """Where the page starts: after key-marker's uploads, or with upload-id-marker after that
    one of them (one of another key's is InvalidArgument, as on S3; an unknown one, say
    aborted meanwhile, starts at key-marker's first upload, so that none is skipped)."""
    if not key_marker:
        return 0
    keys = [key.encode() for key, _, _ in pending]
    first, after = bisect_left(keys, key_marker.encode()), bisect_right(keys, key_marker.encode())
    if not id_marker:
        return after
    for at in range(first, after):
        if pending[at][1] == id_marker:
            return at + 1
    if any(upload_id == id_marker for _, upload_id, _ in pending):
        raise S3Error(
            "InvalidArgument",
            "Invalid uploadId marker",
            ArgumentName="upload-id-marker",
            ArgumentValue=id_marker,
        )
    return first


async def _page(
    state: State, bucket: str, pending: list[Pending], prefix: str, delimiter: str,
    key_marker: str, max_uploads: int,
) -> tuple[list[Listed | str], bool]:  # fmt: skip
    """Up to max-uploads live uploads and common prefixes from `pending`, and whether more
    follow. Records are read a batch at a time: one gone meanwhile, or marked done (a completed
    upload's, as a gateway before records moved to d/ left it), is no upload any more."""
    shown: list[Listed | str] = []
    last_common = None
    for at in range(0, len(pending), _BATCH):
        batch = pending[at : at + _BATCH]
        records = await _records(state, [record_name(bucket, k, u) for k, u, _ in batch])
        for (key, upload_id, initiated), record in zip(batch, records, strict=True):
            if record is None or record.get("done"):
                continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            item: Listed | str
            if cut < 0:
                owner = _owner(state, record.get("owner"))
                item = (key, upload_id, initiated, owner, of_record(record))
            else:
                item = key[: cut + len(delimiter)]
                if item == last_common or item.encode() <= key_marker.encode():
                    continue  # listed already, or on an earlier page
                last_common = item
            if len(shown) == max_uploads:
                return shown, True
            shown.append(item)
    return shown, False


def _owner(state: State, access_key: object) -> Raw:
    """An upload's Initiator and Owner: the key that created it, as ListBuckets shows it."""
    key = str(access_key or "")
    identity = state.credentials.identities.get(key)
    return Raw(owner_xml(key, identity.name if identity is not None else ""))


async def _records(state: State, names: list[str]) -> list[dict[str, object] | None]:
    """The records of a batch of uploads, read a few at a time (None: gone meanwhile)."""
    if not names:
        return []
    store = await staging(state)
    limit = asyncio.Semaphore(16)

    async def one(name: str) -> dict[str, object] | None:
        async with limit:
            try:
                record = json.loads(await store.get(name))
            except (ObjectNotFoundError, ValueError):
                return None
            return record if isinstance(record, dict) else None

    return list(await asyncio.gather(*(one(name) for name in names)))
