"""ListParts and ListMultipartUploads, from the staging bucket's listing index."""

from __future__ import annotations

import asyncio
import hashlib
import json

from .. import BucketNotFoundError, ObjectNotFoundError, ObjectStore
from ._errors import S3Error
from ._http import Request, Response, xml_response
from ._placement import part_size
from ._rules import bucket_for
from ._state import State
from ._uploads import STAGING, part_name, record_name, staging, upload_record
from ._xml import Raw, element, fields


async def list_parts(state: State, req: Request) -> Response:
    store, record = await upload_record(state, req)
    upload_id = req.query["uploadId"]
    try:
        marker = int(req.query.get("part-number-marker") or 0)
        max_parts = min(int(req.query.get("max-parts") or 1000), 1000)
    except ValueError:
        raise S3Error(
            "InvalidArgument", "part-number-marker and max-parts must be integers"
        ) from None
    index = await state.index(STAGING)
    prefix = f"p/{upload_id}/"
    page = await index.page(
        prefix=prefix, after=part_name(upload_id, marker) if marker else "", max_keys=max_parts
    )
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
        parts.append(f"<Part>{fields(values)}</Part>")
    owner = _owner(record.get("owner"))
    head = {
        "Bucket": req.bucket, "Key": req.key, "UploadId": upload_id,
        "Initiator": owner, "Owner": owner, "StorageClass": "STANDARD",
        "PartNumberMarker": marker, "NextPartNumberMarker": last or None,  # untruncated too
        "MaxParts": max_parts, "IsTruncated": page.truncated,
    }  # fmt: skip
    return xml_response("ListPartsResult", fields(head) + "".join(parts))


async def _placed_size(store: ObjectStore, name: str) -> int:
    """The size of a part whose record is empty: a placed part's, from its record's headers
    (or 0: an empty staged part, or a record gone meanwhile)."""
    try:
        return part_size(await store.get_info(name))
    except ObjectNotFoundError:
        return 0


async def list_uploads(state: State, req: Request) -> Response:
    await state.store(bucket_for(req.bucket))
    q = req.query
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    max_uploads = (
        min(int(q.get("max-uploads") or 1000), 1000)
        if (q.get("max-uploads") or "1").isdigit()
        else 1000
    )
    base = f"u/{req.bucket}/"
    try:
        index = await state.index(STAGING)
    except BucketNotFoundError:  # no upload was ever started through this NATS
        found = []
    else:
        found = (await index.page(prefix=base + prefix, max_keys=100_000)).keys
    uploads = []
    prefixes: list[str] = []
    key_marker, id_marker = q.get("key-marker", ""), q.get("upload-id-marker", "")
    for name in found:
        key, _, upload_id = name[len(base) :].rpartition("/")
        if key_marker and _listed_before(key, upload_id, key_marker, id_marker):
            continue
        if delimiter and delimiter in key[len(prefix) :]:
            common = key[: key.index(delimiter, len(prefix)) + len(delimiter)]
            if common not in prefixes:
                prefixes.append(common)
            continue
        entry = index.entry(name)
        uploads.append((key, upload_id, entry.modified if entry else None))
    truncated = len(uploads) > max_uploads
    uploads = uploads[:max_uploads]
    owners = await _owners(state, [record_name(req.bucket, k, u) for k, u, _ in uploads])
    body = fields({
        "Bucket": req.bucket, "KeyMarker": key_marker, "UploadIdMarker": id_marker,
        "NextKeyMarker": uploads[-1][0] if truncated else None,
        "NextUploadIdMarker": uploads[-1][1] if truncated else None,
        "Prefix": prefix, "Delimiter": delimiter or None, "MaxUploads": max_uploads,
        "IsTruncated": truncated,
    })  # fmt: skip
    for (key, upload_id, initiated), owner in zip(uploads, owners, strict=True):
        values = {
            "Key": key, "UploadId": upload_id, "Initiator": owner, "Owner": owner,
            "StorageClass": "STANDARD", "Initiated": initiated,
        }  # fmt: skip
        body += f"<Upload>{fields(values)}</Upload>"
    body += "".join(f"<CommonPrefixes>{element('Prefix', p)}</CommonPrefixes>" for p in prefixes)
    return xml_response("ListMultipartUploadsResult", body)


def _owner(name: object) -> Raw:
    """An upload's Initiator and Owner: the key that created it (as ListBuckets' Owner)."""
    text = str(name or "")
    return Raw(fields({"ID": hashlib.sha256(text.encode()).hexdigest(), "DisplayName": text}))


async def _owners(state: State, names: list[str]) -> list[Raw]:
    """The owners of a page of uploads, their records read a few at a time."""
    if not names:
        return []
    store = await staging(state)
    limit = asyncio.Semaphore(16)

    async def one(name: str) -> Raw:
        async with limit:
            try:
                return _owner(json.loads(await store.get(name)).get("owner"))
            except (ObjectNotFoundError, ValueError):
                return _owner(None)  # completed or aborted meanwhile

    return list(await asyncio.gather(*(one(name) for name in names)))


def _listed_before(key: str, upload_id: str, key_marker: str, id_marker: str) -> bool:
    """On an earlier page: keys up to key-marker (with upload-id-marker, that key's uploads
    up to it)."""
    if id_marker:
        return (key.encode(), upload_id) <= (key_marker.encode(), id_marker)
    return key.encode() <= key_marker.encode()
