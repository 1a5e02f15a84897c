"""Bucket operations: list, create (with an owner), head, delete, location, versioning
(natsobj keeps one version: Suspended is remembered in the bucket's metadata, Enabled is not
implemented), and the object listings (v1, v2, versions)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone

from .. import BucketExistsError, BucketNotFoundError
from . import _listing, _xml
from ._errors import S3Error
from ._http import Request, Response, xml_response
from ._index import Entry
from ._rules import (
    AWS_REGIONS,
    INTERNAL_PREFIX,
    OWNER_KEY,
    VERSIONING_KEY,
    bucket_arn,
    bucket_for,
    check_new_bucket_name,
    check_region,
)
from ._state import State
from ._xml import Raw, element, escape, fields, iso_time, text


def owner_xml(access_key: str, name: str) -> str:
    return fields({"ID": owner_id(access_key), "DisplayName": name or access_key})


def owner_id(access_key: str) -> str:
    """A stable canonical user ID for an access key (S3's are 64 hex digits)."""
    return hashlib.sha256(access_key.encode()).hexdigest()


def _me(req: Request) -> Raw:
    assert req.identity is not None
    return Raw(owner_xml(req.identity.access_key, req.identity.name))


# ---------------------------------------------------------------------------------------------
# the service and buckets


async def list_buckets(state: State, req: Request) -> Response:
    assert req.identity is not None
    prefix = req.query.get("prefix", "")
    after = (
        _listing.marker_of(req.query["continuation-token"])
        if req.query.get("continuation-token")
        else ""
    )
    limit = _max_buckets(req.query.get("max-buckets"))
    region = req.query.get("bucket-region") or state.region  # empty: none asked for
    check_region(region, state.region, "bucket-region")
    statuses = sorted(await state.client.object_stores(), key=lambda s: s.bucket.encode())
    if region != state.region:
        statuses = []  # every bucket is in the gateway's region
    shown = [
        s for s in statuses
        if not s.bucket.startswith(INTERNAL_PREFIX) and s.bucket.startswith(prefix)
        and s.bucket > after and req.identity.may_use(s.bucket)
    ]  # fmt: skip
    page, more = shown[:limit], len(shown) > limit
    # S3 names the region only when the request has one of its parameters (none: no region)
    region_shown = state.region if _PAGING.intersection(req.query) else None
    entries = "".join(
        "<Bucket>"
        + fields(
            {
                "Name": s.bucket,
                "CreationDate": (s.created or _EPOCH).replace(microsecond=0),  # as S3: .000Z
                "BucketRegion": region_shown,
                "BucketArn": bucket_arn(s.bucket),
            }
        )
        + "</Bucket>"
        for s in page
    )
    body = f"<Buckets>{entries}</Buckets><Owner>{_me(req).xml}</Owner>"
    if more:
        body += element("ContinuationToken", _listing.token_for(page[-1].bucket))
    if "prefix" in req.query:
        body += element("Prefix", prefix)
    return xml_response("ListAllMyBucketsResult", body)


_PAGING = frozenset({"max-buckets", "continuation-token", "prefix", "bucket-region"})
"""ListBuckets' parameters."""


def _max_buckets(value: str | None) -> int:
    if not value:
        return 10_000
    try:
        limit = int(value)
    except ValueError:
        raise S3Error("InvalidArgument", "max-buckets must be a number from 1 to 10000") from None
    if not 1 <= limit <= 10_000:
        raise S3Error("InvalidArgument", "max-buckets must be a number from 1 to 10000")
    return limit


_EPOCH = datetime.fromtimestamp(0, timezone.utc)


async def create_bucket(state: State, req: Request) -> Response:
    assert req.identity is not None
    name = check_new_bucket_name(req.bucket)
    if req.headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true":
        raise S3Error("NotImplemented", "natsobj's S3 gateway does not implement object lock")
    where = _location_constraint(await req.body().read_all(64 * 1024), state.region)
    try:
        await state.client.object_store(name)
    except BucketNotFoundError:
        if where is not None and where != state.region:  # an existing bucket is refused first
            raise S3Error(
                "IllegalLocationConstraintException",
                f"The {where} location constraint is incompatible for the region specific "
                "endpoint this request was sent to.",
            ) from None
        try:
            await state.client.create_object_store(
                name, metadata={OWNER_KEY: req.identity.access_key}
            )
            return Response(200, [("Location", "/" + name), ("x-amz-bucket-arn", bucket_arn(name))])
        except BucketExistsError:
            pass  # created meanwhile by another caller: answer as for an existing one
    await _refuse_existing(state, name, req.identity.access_key)
    raise AssertionError("unreachable")  # pragma: no cover


def _location_constraint(body: bytes, region: str) -> str | None:
    """The LocationConstraint a CreateBucket body names (None: none, which is the gateway's
    region); an empty one is MalformedXML; to a us-east-1 gateway, us-east-1 or a name that is
    no region (aws-global, foo) is InvalidLocationConstraint, as on S3. (A region's S3
    endpoint also refuses a request naming none; the gateway serves one region, so none has
    one meaning, and it takes it, as MinIO and Ceph RGW do: tools such as rclone send no
    constraint unless told to.)"""
    if not body.strip():
        return None
    where = _xml.child_text(_xml.parse(body, "CreateBucketConfiguration"), "LocationConstraint")
    if not where:
        raise S3Error("MalformedXML", "the CreateBucketConfiguration names no LocationConstraint")
    if region == "us-east-1" and (where == region or where not in AWS_REGIONS | {"EU"}):
        raise S3Error("InvalidLocationConstraint", LocationConstraint=where)
    return where


async def _refuse_existing(state: State, name: str, access_key: str) -> None:
    status = await (await state.client.object_store(name)).status()
    owner = (status.metadata or {}).get(OWNER_KEY)
    if owner is None or owner == access_key:  # a bucket made outside S3 belongs to every key
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=name)
    raise S3Error("BucketAlreadyExists", BucketName=name)


async def head_bucket(state: State, req: Request) -> Response:
    await state.store(bucket_for(req.bucket))
    headers = [
        ("x-amz-bucket-arn", bucket_arn(req.bucket)),
        ("x-amz-bucket-region", state.region),
        ("x-amz-access-point-alias", "false"),
    ]
    return Response(200, [*headers, ("Content-Type", "application/xml")])  # as S3 sends them


async def delete_bucket(state: State, req: Request) -> Response:
    name = bucket_for(req.bucket)
    index = await state.index(name)
    if not await index.is_empty():
        raise S3Error("BucketNotEmpty", BucketName=name)
    await state.client.delete_object_store(name)
    await state.forget(name)
    return Response(204)


async def get_location(state: State, req: Request) -> Response:
    await state.store(bucket_for(req.bucket))
    where = "" if state.region == "us-east-1" else state.region
    return Response(
        200,
        [("Content-Type", "application/xml")],
        f'{_xml.HEAD}<LocationConstraint xmlns="{_xml.NS}">{text(where)}</LocationConstraint>'.encode(),  # noqa: E501
    )


async def get_versioning(state: State, req: Request) -> Response:
    """No Status until a client suspends versioning, then Suspended (natsobj's one version per
    key is what S3 does with versioning suspended)."""
    status = await (await state.store(bucket_for(req.bucket))).status()
    suspended = (status.metadata or {}).get(VERSIONING_KEY) == "Suspended"
    shown = element("Status", "Suspended") if suspended else ""
    return xml_response("VersioningConfiguration", shown)


async def put_versioning(state: State, req: Request) -> Response:
    store = await state.store(bucket_for(req.bucket))
    body = await req.body().read_all(64 * 1024)
    status = _xml.child_text(_xml.parse(body, "VersioningConfiguration"), "Status")
    if status is None:
        raise S3Error(
            "IllegalVersioningConfigurationException", "The Versioning element must be specified"
        )
    if status not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML", f"versioning Status is Enabled or Suspended, not {status!r}")
    if status == "Enabled":
        raise S3Error(
            "NotImplemented",
            "natsobj keeps one version of each object: bucket versioning is not implemented",
        )
    metadata = dict((await store.status()).metadata or {})
    if metadata.get(VERSIONING_KEY) != status:  # remembered, so GetBucketVersioning shows it
        metadata[VERSIONING_KEY] = status
        await state.client.update_object_store(store.bucket, metadata=metadata)
    return Response(200)


async def keep_private_acl(state: State, req: Request) -> Response:
    """PutBucketAcl with the canned `private` ACL: the ACL every bucket has (see _dispatch)."""
    await state.store(bucket_for(req.bucket))
    return Response(200)


async def get_acl(state: State, req: Request) -> Response:
    await state.store(bucket_for(req.bucket))
    return acl_response(req)


def acl_response(req: Request) -> Response:
    """The one ACL natsobj has: the caller's key holds FULL_CONTROL (ACL writes are ignored)."""
    me = _me(req).xml
    grant = (
        '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:type="CanonicalUser">{me}</Grantee><Permission>FULL_CONTROL</Permission></Grant>'
    )
    return xml_response(
        "AccessControlPolicy", f"<Owner>{me}</Owner><AccessControlList>{grant}</AccessControlList>"
    )


# ---------------------------------------------------------------------------------------------
# listings


async def _page(
    state: State, req: Request, after: str, max_keys: int
) -> tuple[dict[str, Entry], _listing.Page]:
    index = await state.index(bucket_for(req.bucket))
    prefix, delimiter = req.query.get("prefix", ""), req.query.get("delimiter", "")
    page = await index.page(prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
    return await index.entries(page.keys), page


def _contents(
    entries: dict[str, Entry],
    page: _listing.Page,
    enc: Callable[[str], str],
    owner: str | None,
    tag: str = "Contents",
    version: bool = False,
) -> str:
    # one f-string per key: a 1000-key page is built in a few milliseconds
    latest = "<VersionId>null</VersionId><IsLatest>true</IsLatest>" if version else ""
    tail = "<StorageClass>STANDARD</StorageClass>" + (
        f"<Owner>{owner}</Owner>" if owner is not None else ""
    )
    out = []
    for key in page.keys:
        entry = entries.get(key)
        if entry is None:
            continue
        alg = entry.checksum
        sums = (
            f"<ChecksumAlgorithm>{escape(alg)}</ChecksumAlgorithm>"
            f"<ChecksumType>{entry.checksum_type}</ChecksumType>"
            if alg
            else ""
        )
        out.append(
            f"<{tag}><Key>{escape(enc(key))}</Key>{latest}"
            f"<LastModified>{iso_time(entry.modified)}</LastModified>"
            f"<ETag>{escape(entry.etag)}</ETag>{sums}<Size>{entry.size}</Size>{tail}</{tag}>"
        )
    out += [
        f"<CommonPrefixes>{element('Prefix', enc(p))}</CommonPrefixes>"
        for p in page.common_prefixes
    ]
    return "".join(out)


async def list_objects(state: State, req: Request) -> Response:
    q = req.query
    v2 = q.get("list-type") == "2"
    encoding, enc = _listing.encoder(req.query.get("encoding-type"))
    max_keys = _listing.max_keys_of(q.get("max-keys"))
    if v2:
        token = q.get("continuation-token")
        if token == "":  # a first page is asked for without one
            raise _listing.bad_token()
        after = _listing.marker_of(token) if token is not None else q.get("start-after", "")
    else:
        after = q.get("marker", "")
    entries, page = await _page(state, req, after, max_keys)
    owner = _me(req).xml if (not v2 or q.get("fetch-owner") == "true") else None
    head: list[tuple[str, object]] = [
        ("Name", req.bucket),
        ("Prefix", enc(q.get("prefix", ""))),
    ]
    if v2:
        head += [("KeyCount", len(page.keys) + len(page.common_prefixes))]
        if "continuation-token" in q:
            head.append(("ContinuationToken", q["continuation-token"]))
        if "start-after" in q:
            head.append(("StartAfter", enc(q["start-after"])))
    else:
        head.append(("Marker", enc(after)))
    head += [("MaxKeys", max_keys)]
    if q.get("delimiter"):
        head.append(("Delimiter", enc(q["delimiter"])))
    if encoding:
        head.append(("EncodingType", encoding))
    head.append(("IsTruncated", page.truncated))
    if page.truncated and page.next_marker is not None:
        if v2:
            head.append(("NextContinuationToken", _listing.token_for(page.next_marker)))
        elif q.get("delimiter"):  # S3 says where to go on only then (else: the last Key)
            head.append(("NextMarker", enc(page.next_marker)))
    answer = xml_response("ListBucketResult", fields(head) + _contents(entries, page, enc, owner))
    answer.headers.append(("x-amz-bucket-region", state.region))  # as HeadBucket, as S3 does
    return answer


async def list_versions(state: State, req: Request) -> Response:
    q = req.query
    encoding, enc = _listing.encoder(req.query.get("encoding-type"))
    max_keys = _listing.max_keys_of(q.get("max-keys"))
    marker = q.get("key-marker", "")
    version_marker = q.get("version-id-marker")
    if version_marker and not marker:
        raise S3Error(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
            ArgumentValue=version_marker,
        )
    entries, page = await _page(state, req, marker, max_keys)
    head: list[tuple[str, object]] = [
        ("Name", req.bucket),
        ("Prefix", enc(q.get("prefix", ""))),
        ("KeyMarker", enc(marker)),
        ("VersionIdMarker", version_marker or ""),
        ("MaxKeys", max_keys),
    ]
    if q.get("delimiter"):
        head.append(("Delimiter", enc(q["delimiter"])))
    if encoding:
        head.append(("EncodingType", encoding))
    head.append(("IsTruncated", page.truncated))
    if page.truncated and page.next_marker is not None:
        head.append(("NextKeyMarker", enc(page.next_marker)))
        if page.next_marker not in page.common_prefixes:  # a common prefix has no version
            head.append(("NextVersionIdMarker", "null"))
    body = fields(head) + _contents(entries, page, enc, _me(req).xml, tag="Version", version=True)
    return xml_response("ListVersionsResult", body)
