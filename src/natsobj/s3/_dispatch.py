"""Which S3 operation a request is: by method, by whether it names a bucket and a key, and by
its query subresources. Out-of-scope subresources answer 501 NotImplemented; reads of bucket
configurations natsobj does not keep answer what S3 answers for a bucket without one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from . import _absent as absent
from . import _attributes as attributes
from . import _bucket_ops as buckets
from . import _copy_ops as copies
from . import _multipart as multipart
from . import _object_ops as objects
from ._errors import S3Error
from ._http import Request, Response
from ._state import State

Handler = Callable[[State, Request], Awaitable[Response]]
Route = tuple[str, Handler, bool]
"""(operation name, handler, whether it writes)."""

# bucket subresources natsobj does not implement: a write is 501; a read answers "none set"
_BUCKET_CONFIGS = {
    "policy": "NoSuchBucketPolicy",
    "lifecycle": "NoSuchLifecycleConfiguration",
    "cors": "NoSuchCORSConfiguration",
    "tagging": "NoSuchTagSet",
    "website": "NoSuchWebsiteConfiguration",
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "object-lock": "ObjectLockConfigurationNotFoundError",
}
_UNSUPPORTED = {
    "replication", "logging", "notification", "accelerate", "requestPayment",
    "ownershipControls", "publicAccessBlock", "intelligent-tiering", "analytics",
    "inventory", "metrics", "policyStatus", "retention", "legal-hold", "torrent",
    "restore", "select", "select-type", "object-lock",
}  # fmt: skip


def route(req: Request) -> Route:
    """The operation `req` asks for; S3Error for one natsobj does not do."""
    if not req.bucket:
        if req.method == "GET":
            return "ListBuckets", buckets.list_buckets, False
        raise S3Error("MethodNotAllowed", f"{req.method} is not allowed on the service")
    if req.key:
        return _object_route(req)
    return _bucket_route(req)


def _bucket_route(req: Request) -> Route:
    q, m = req.query, req.method
    for name, missing in _BUCKET_CONFIGS.items():
        if name in q:
            if m == "GET":
                return f"GetBucket{name.title()}", _none_set(missing), False
            if m == "DELETE" and name != "object-lock":
                return f"DeleteBucket{name.title()}", _no_content, True
            if m == "PUT" and name == "object-lock":
                return "PutObjectLockConfiguration", absent.put_object_lock_configuration, True
            return f"{m.title()}Bucket{name.title()}", _unsupported(name), m != "GET"
    if m == "PUT":
        absent.check_canned_acl(req)
    if "acl" in q:
        if m == "GET":
            return "GetBucketAcl", buckets.get_acl, False
        if m == "PUT" and _keeps_private(req):
            return "PutBucketAcl", buckets.keep_private_acl, True
        raise _not_implemented("acl")
    for name in _UNSUPPORTED:
        if name in q:
            return f"{m.title()}Bucket{name[0].upper()}{name[1:]}", _unsupported(name), m != "GET"
    table: dict[tuple[str, str | None], Route] = {
        ("GET", "location"): ("GetBucketLocation", buckets.get_location, False),
        ("GET", "versioning"): ("GetBucketVersioning", buckets.get_versioning, False),
        ("PUT", "versioning"): ("PutBucketVersioning", buckets.put_versioning, True),
        ("GET", "versions"): ("ListObjectVersions", buckets.list_versions, False),
        ("GET", "uploads"): ("ListMultipartUploads", multipart.list_uploads, False),
        ("POST", "delete"): ("DeleteObjects", objects.delete_objects, True),
        ("GET", None): ("ListObjects", buckets.list_objects, False),
        ("PUT", None): ("CreateBucket", buckets.create_bucket, True),
        ("HEAD", None): ("HeadBucket", buckets.head_bucket, False),
        ("DELETE", None): ("DeleteBucket", buckets.delete_bucket, True),
    }
    for (method, sub), found in table.items():
        if method == m and (sub is None or sub in q):
            if found[0] == "ListObjects" and q.get("list-type") == "2":
                return "ListObjectsV2", buckets.list_objects, False
            return found
    if m == "POST":
        raise _not_implemented("POST object (browser uploads)")
    raise S3Error("MethodNotAllowed", f"{m} is not allowed on a bucket")


# write headers asking for what natsobj does not do: storing the object without it would
# silently drop what the client asked for (an unencrypted object, no retention, no tags);
# the encryption headers are checked first as S3 checks them (`_absent.check_sse_headers`)
_UNSUPPORTED_HEADERS = {
    "x-amz-object-lock-mode": "object lock",
    "x-amz-object-lock-retain-until-date": "object lock",
    "x-amz-object-lock-legal-hold": "object lock",
    "x-amz-tagging": "tagging",
    "x-amz-website-redirect-location": "website redirects",
}


def _object_route(req: Request) -> Route:
    q, m, h = req.query, req.method, req.headers
    found = _absent_route(req)
    if found is not None:
        return found
    for name in _UNSUPPORTED:
        if name in q:
            raise _not_implemented(name)
    if m in ("PUT", "POST"):
        absent.check_canned_acl(req)
        if absent.check_sse_headers(req, writes=True):
            raise _not_implemented("server-side encryption (SSE)")
        if absent.check_storage_class(req):
            raise _not_implemented("storage classes other than STANDARD")
        for header, what in _UNSUPPORTED_HEADERS.items():
            if h.get(header):
                raise _not_implemented(what)
    elif m in ("GET", "HEAD"):
        absent.check_sse_headers(req, writes=False)
    if "acl" in q:
        if m == "GET":
            return "GetObjectAcl", objects.get_acl, False
        if m == "PUT" and _keeps_private(req):
            return "PutObjectAcl", _keep_private_object_acl, True
        raise _not_implemented("acl")
    if m == "PUT":
        if "partNumber" in q or "uploadId" in q:
            if "x-amz-copy-source" in h:
                return "UploadPartCopy", multipart.upload_part_copy, True
            _length_declared(req)
            return "UploadPart", multipart.upload_part, True
        if "x-amz-copy-source" in h:
            return "CopyObject", copies.copy_object, True
        _length_declared(req)
        return "PutObject", objects.put_object, True
    if m == "GET":
        if "uploadId" in q:
            return "ListParts", multipart.list_parts, False
        if "attributes" in q:
            return "GetObjectAttributes", attributes.get_attributes, False
        return "GetObject", objects.get_object, False
    if m == "HEAD":
        return "HeadObject", objects.head_object, False
    if m == "DELETE":
        if "uploadId" in q:
            return "AbortMultipartUpload", multipart.abort, True
        return "DeleteObject", objects.delete_object, True
    if m == "POST":
        if "uploads" in q:
            return "CreateMultipartUpload", multipart.create, True
        if "uploadId" in q:
            return "CompleteMultipartUpload", multipart.complete, True
        raise _not_implemented("POST on an object")
    raise S3Error("MethodNotAllowed", f"{m} is not allowed on an object")


def _length_declared(req: Request) -> None:
    """A PutObject or UploadPart says how long its body is, by Content-Length or chunked
    transfer; S3 answers 411 otherwise (a PUT with neither would store an empty object the
    client may not have meant)."""
    if "content-length" not in req.headers and "transfer-encoding" not in req.headers:
        raise S3Error("MissingContentLength")


def _absent_route(req: Request) -> Route | None:
    """Object subresources for what no natsobj object has: tags, retention, legal holds."""
    q, m = req.query, req.method
    if "tagging" in q:
        table: dict[str, Route] = {
            "GET": ("GetObjectTagging", absent.get_object_tagging, False),
            "PUT": ("PutObjectTagging", absent.put_object_tagging, True),
            "DELETE": ("DeleteObjectTagging", absent.delete_object_tagging, True),
        }
        if m not in table:
            raise S3Error("MethodNotAllowed", f"{m} is not allowed on ?tagging")
        return table[m]
    for name in ("retention", "legal-hold"):
        if name in q and m in ("GET", "PUT"):
            op = f"{m.title()}Object{name.title().replace('-', '')}"
            return op, absent.no_object_lock, m == "PUT"
    return None


def _keeps_private(req: Request) -> bool:
    """A PUT ?acl asking for the canned `private` ACL and nothing else: what GetBucketAcl and
    GetObjectAcl already answer (the owner's FULL_CONTROL), so it is done by changing nothing.
    Any other ACL (canned, grant headers or an XML body) is 501."""
    h = req.headers
    return (
        h.get("x-amz-acl", "").strip() == "private"
        and not any(name.startswith("x-amz-grant-") for name in h)
        and h.get("content-length", "0").strip() in ("", "0")
        and "transfer-encoding" not in h
    )


def _not_implemented(what: str) -> S3Error:
    return S3Error("NotImplemented", f"natsobj's S3 gateway does not implement {what}")


def _none_set(code: str) -> Handler:
    async def answer(state: State, req: Request) -> Response:
        await state.store(req.bucket)  # NoSuchBucket first, as S3 answers
        raise S3Error(code, BucketName=req.bucket)

    return answer


def _unsupported(what: str) -> Handler:
    async def answer(state: State, req: Request) -> Response:
        await state.store(req.bucket)  # NoSuchBucket first, as S3 answers
        raise _not_implemented(what)

    return answer


async def _no_content(state: State, req: Request) -> Response:
    await state.store(req.bucket)
    return Response(204)


async def _keep_private_object_acl(state: State, req: Request) -> Response:
    """PutObjectAcl with the canned `private` ACL: the one every object has (_keeps_private)."""
    await objects.get_acl(state, req)  # NoSuchBucket / NoSuchKey as for a read
    return Response(200)
