"""GetObjectAttributes: an object's ETag, checksums, size, storage class and part layout, the
parts a page at a time (x-amz-max-parts, x-amz-part-number-marker) as ListParts pages them."""

from __future__ import annotations

from .. import ObjectInfo
from . import _xml
from ._errors import S3Error
from ._http import Request, Response, xml_response
from ._multipart_checksums import COMPOSITE
from ._object_ops import open_object
from ._rules import (
    checksum_fields,
    checksum_type_of,
    checksums_of,
    digest_checksum,
    etag_of,
    http_date,
    last_modified,
    part_checksums_of,
    part_page,
    parts_of,
)
from ._state import State
from ._xml import fields


async def get_attributes(state: State, req: Request) -> Response:
    reader = await open_object(state, req)
    await reader.aclose()
    info = reader.info
    assert info is not None
    wanted = {
        a.strip() for a in req.headers.get("x-amz-object-attributes", "").split(",") if a.strip()
    }
    if not wanted:
        raise S3Error("InvalidArgument", "x-amz-object-attributes must name at least one attribute")
    parts: list[tuple[str, object]] = []
    if "ETag" in wanted:
        parts.append(("ETag", etag_of(info).strip('"')))
    if "Checksum" in wanted:
        sums = checksums_of(info) or digest_checksum(info)  # a composite one without "-N"
        parts.append(("Checksum", _xml.Raw(fields(checksum_fields(sums, checksum_type_of(info))))))
    page = _page_asked(req) if "ObjectParts" in wanted else None
    if page is not None and parts_of(info):
        parts.append(("ObjectParts", _xml.Raw(_object_parts(page, info))))
    if "StorageClass" in wanted:
        parts.append(("StorageClass", "STANDARD"))
    if "ObjectSize" in wanted:
        parts.append(("ObjectSize", info.size))
    response = xml_response("GetObjectAttributesResponse", fields(parts))
    response.headers.append(("Last-Modified", http_date(last_modified(info))))
    return response


def _page_asked(req: Request) -> tuple[int, int]:
    """x-amz-part-number-marker and x-amz-max-parts (checked whether or not the object has
    parts)."""
    return part_page(
        req.headers.get("x-amz-part-number-marker"),
        req.headers.get("x-amz-max-parts"),
        "x-amz-part-number-marker and x-amz-max-parts",
    )


def _object_parts(page: tuple[int, int], info: ObjectInfo) -> str:
    """One page of a COMPOSITE multipart object's parts: after the marker, at most max-parts
    of them, with the fields ListParts gives (NextPartNumberMarker: the last part listed, 0 for
    none) and their checksums, and PartsCount, the element S3 names TotalPartsCount; of any
    other multipart object S3 gives the PartsCount alone."""
    sizes, marker, max_parts = parts_of(info), *page
    if checksum_type_of(info) != COMPOSITE:
        return fields({"PartsCount": len(sizes)})
    part_sums = part_checksums_of(info)
    alg = next(iter(checksums_of(info)), "")
    numbers = range(max(marker, 0) + 1, len(sizes) + 1)
    shown = list(numbers[: max(max_parts, 0)])
    head = {
        "PartNumberMarker": marker,
        "NextPartNumberMarker": shown[-1] if shown else 0,
        "MaxParts": max_parts,
        "IsTruncated": len(shown) < len(numbers),
        "PartsCount": len(sizes),
    }
    return fields(head) + "".join(
        f"<Part>{fields(_part_fields(n, sizes, part_sums, alg))}</Part>" for n in shown
    )


def _part_fields(n: int, sizes: list[int], part_sums: list[str], alg: str) -> dict[str, object]:
    sums = {f"Checksum{alg}": part_sums[n - 1]} if len(part_sums) >= n else {}
    return {**sums, "PartNumber": n, "Size": sizes[n - 1]}
