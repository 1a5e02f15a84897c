"""Conditional writes, as S3 evaluates them: `If-None-Match: *` (only if the key is absent)
and `If-Match: <etag>` (only over that object) on PutObject, CopyObject and
CompleteMultipartUpload.

S3 takes one of the two headers, `*` only in If-None-Match and an ETag only in If-Match; any
other use is 501 NotImplemented naming the header. A condition that does not hold is 412
PreconditionFailed naming it (If-Match on an absent key: 404 NoSuchKey). A multipart upload is
also refused, 409 ConditionalRequestConflict, if its key was written or deleted after the
upload began, even when the condition holds again at Complete: the upload's record keeps the
key's store revision (tombstones included) at CreateMultipartUpload for that.

The check is atomic: the write is published only over the revision the condition was
evaluated on (`if_revision`), so two writers cannot both win; the loser gets the same 412."""

from __future__ import annotations

from .. import ObjectInfo, ObjectNotFoundError, ObjectStore
from ._errors import S3Error
from ._http import Request
from ._rules import etag_matches, etag_of


def _not_implemented(header: str, detail: str) -> S3Error:
    return S3Error(
        "NotImplemented",
        "A header you provided implies functionality that is not implemented",
        Header=header,
        additionalMessage=detail,
    )


def _asked(req: Request) -> tuple[str | None, str | None]:
    """(If-None-Match, If-Match) of a write, once S3 would take them."""
    if_none = req.headers.get("if-none-match")
    if_match = req.headers.get("if-match")
    if if_none is not None and if_match is not None:
        raise _not_implemented(
            "If-Match,If-None-Match", "Multiple conditional request headers present in the request"
        )
    if if_none is not None and if_none.strip() != "*":
        raise _not_implemented(
            "If-None-Match",
            "We don't accept the provided value of If-None-Match header for this API",
        )
    if if_match is not None and if_match.strip() == "*":
        raise _not_implemented(
            "If-Match", "We don't accept the provided value of If-Match header for this API"
        )
    return if_none, if_match


def refused(req: Request) -> S3Error:
    """412 for a conditional write another writer overtook (the store refused its revision)."""
    condition = "If-None-Match" if "if-none-match" in req.headers else "If-Match"
    return S3Error("PreconditionFailed", Condition=condition)


async def _matched(store: ObjectStore, req: Request, live: ObjectInfo | None, if_match: str) -> int:
    """The revision If-Match holds on (404 if no object, 412 if another ETag)."""
    if live is None:
        raise S3Error("NoSuchKey", Key=req.key)
    shown = await store.resolve(req.key) if live.is_link else live  # the ETag HEAD showed
    if not etag_matches(if_match, etag_of(shown)):
        raise S3Error("PreconditionFailed", Condition="If-Match")
    return int(live.revision)


async def _live(store: ObjectStore, key: str) -> ObjectInfo | None:
    try:
        return await store.get_info(key)
    except ObjectNotFoundError:
        return None


async def put_condition(store: ObjectStore, req: Request) -> int | None:
    """The store revision a conditional PUT must replace (0: the key must be absent)."""
    if_none, if_match = _asked(req)
    if if_none is not None:
        return 0
    if if_match is None:
        return None
    return await _matched(store, req, await _live(store, req.key), if_match)


async def revision_now(store: ObjectStore, key: str) -> int:
    """The key's store revision, a deletion's included (0: never written)."""
    try:
        return int((await store.get_info(key, show_deleted=True)).revision)
    except ObjectNotFoundError:
        return 0


async def complete_condition(store: ObjectStore, req: Request, began_at: int | None) -> int | None:
    """The revision a conditional CompleteMultipartUpload must replace (see the module);
    `began_at`: the key's revision when the upload began (None: not known, not checked)."""
    if_none, if_match = _asked(req)
    if if_none is None and if_match is None:
        return None
    try:
        found: ObjectInfo | None = await store.get_info(req.key, show_deleted=True)
    except ObjectNotFoundError:
        found = None
    live = found if found is not None and not found.deleted else None
    if if_match is not None:
        expected = await _matched(store, req, live, if_match)
    elif live is not None:
        raise S3Error("PreconditionFailed", Condition="If-None-Match")
    else:
        expected = 0
    if began_at is not None and (int(found.revision) if found else 0) != began_at:
        raise S3Error(
            "ConditionalRequestConflict",
            "The conditional request cannot succeed due to a conflicting operation against "
            "this resource.",
            Condition="If-Match" if if_match is not None else "If-None-Match",
            Key=req.key,
        )
    return expected


async def delete_condition(store: ObjectStore, req: Request) -> int | None:
    """The revision DeleteObject's If-Match holds on, for `delete(if_revision=...)`: it
    deletes only that object (412 for another ETag, 404 if there is none), atomically, so a
    client never deletes what it did not see. x-amz-if-match-last-modified-time and
    x-amz-if-match-size are 501 NotImplemented: refused, never ignored."""
    for header in ("x-amz-if-match-last-modified-time", "x-amz-if-match-size"):
        if header in req.headers:
            raise _not_implemented(header, "natsobj does not implement this delete condition")
    if_match = req.headers.get("if-match")
    if if_match is None:
        return None
    return await _matched(store, req, await _live(store, req.key), if_match)
