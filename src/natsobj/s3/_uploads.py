"""What every multipart request shares: the hidden staging bucket that keeps uploads in NATS
(so any gateway process can carry on one another started), the names in it, and the checks of
an upload id and a part number (see _multipart for the design)."""

from __future__ import annotations

import json
from datetime import timedelta

from .. import BucketNotFoundError, ObjectNotFoundError, ObjectStore
from ._errors import S3Error
from ._http import Request
from ._rules import INTERNAL_PREFIX
from ._state import State

STAGING = INTERNAL_PREFIX + "uploads"
STAGING_TTL = timedelta(days=7)
MIN_PART = 5 * 1024 * 1024
MAX_PART = 5 * 1024 * 1024 * 1024


async def staging(state: State) -> ObjectStore:
    try:
        return await state.store(STAGING)
    except BucketNotFoundError:
        await state.client.create_or_update_object_store(
            STAGING,
            description="natsobj S3 gateway: multipart uploads in progress",
            ttl=STAGING_TTL,
        )
        return await state.store(STAGING)


def record_name(bucket: str, key: str, upload_id: str) -> str:
    return f"u/{bucket}/{key}/{upload_id}"


def done_name(bucket: str, key: str, upload_id: str) -> str:
    """Where a completed upload's record moves: out of the uploads S3 lists, kept (until the
    staging TTL) so a retried Complete answers as the first one did."""
    return f"d/{bucket}/{key}/{upload_id}"


def part_name(upload_id: str, number: int) -> str:
    return f"p/{upload_id}/{number:05d}"


async def upload_record(state: State, req: Request) -> tuple[ObjectStore, dict[str, object]]:
    upload_id = req.query.get("uploadId", "")
    if not upload_id or "/" in upload_id:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    store = await staging(state)
    try:
        data = await store.get(record_name(req.bucket, req.key, upload_id))
    except ObjectNotFoundError:
        raise S3Error("NoSuchUpload", UploadId=upload_id) from None
    record = json.loads(data)
    if record.get("done"):  # completed: S3 knows the upload no more
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return store, record


def part_number(req: Request) -> int:
    try:
        number = int(req.query.get("partNumber", ""))
    except ValueError:
        number = 0
    if not 1 <= number <= 10_000:
        raise S3Error(
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=req.query.get("partNumber", ""),
        )
    return number
