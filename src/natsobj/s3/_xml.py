"""S3's XML, in and out: response documents built as text, request documents parsed safely.

Responses are small, flat documents; building them as escaped text is simpler and faster than
an element tree. Requests (DeleteObjects, CompleteMultipartUpload, CreateBucketConfiguration)
are parsed with the standard library's expat (which limits entity expansion), after refusing
any DOCTYPE and any body above `MAX_XML_BYTES`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from ._errors import S3Error

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_XML_BYTES = 2 << 20  # a DeleteObjects of 1000 keys of 1024 bytes fits

_SPECIAL = re.compile('[&<>"\r]')
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("\r", "&#13;"))


def text(value: Any) -> str:
    """A value as XML character data (bools as S3 writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_time(value)
    return escape(value if isinstance(value, str) else str(value))


def escape(value: str) -> str:
    """`value` with &, <, >, " and CR escaped (a listing escapes thousands of keys: most have
    none of them, and str.replace is many times faster than str.translate)."""
    if _SPECIAL.search(value) is None:
        return value
    for char, entity in _ESCAPES:
        value = value.replace(char, entity)
    return value


def iso_time(moment: datetime) -> str:
    """S3's timestamp in XML: 2006-02-03T16:45:09.000Z (milliseconds, UTC)."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def element(tag: str, value: Any) -> str:
    return f"<{tag}>{text(value)}</{tag}>"


def fields(values: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """Elements for the pairs whose value is not None; nested lists of text are kept as is."""
    items = values.items() if isinstance(values, Mapping) else values
    out = []
    for tag, value in items:
        if value is None:
            continue
        if isinstance(value, Raw):
            out.append(f"<{tag}>{value.xml}</{tag}>")
        else:
            out.append(element(tag, value))
    return "".join(out)


class Raw:
    """Already-built XML to nest inside an element."""

    __slots__ = ("xml",)

    def __init__(self, xml: str) -> None:
        self.xml = xml


def document(root: str, body: str) -> bytes:
    """A whole response document with S3's namespace."""
    return f'{HEAD}<{root} xmlns="{NS}">{body}</{root}>'.encode()


def error_body(err: S3Error, *, request_id: str) -> bytes:
    """S3's error document (no namespace and no Resource element, as S3 sends it)."""
    extra = fields(err.fields)
    return (
        f"{HEAD}<Error><Code>{text(err.code)}</Code><Message>{text(err.message)}</Message>"
        f"{extra}<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
    ).encode()


def parse(body: bytes, root: str) -> ET.Element:
    """A request document whose root element is `root` (namespace ignored); MalformedXML
    for anything else."""
    if not body.strip():
        raise S3Error("MalformedXML", f"the request body must be a <{root}> document")
    if len(body) > MAX_XML_BYTES:
        raise S3Error("MalformedXML", f"the XML body is over {MAX_XML_BYTES} bytes")
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise S3Error("MalformedXML", "DOCTYPE and ENTITY declarations are not allowed")
    try:
        tree = ET.fromstring(body)
    except ET.ParseError as exc:
        raise S3Error("MalformedXML", f"the XML is not well-formed: {exc}") from None
    _strip_namespaces(tree)
    if tree.tag != root:
        raise S3Error("MalformedXML", f"expected a <{root}> document, got <{tree.tag}>")
    return tree


def _strip_namespaces(tree: ET.Element) -> None:
    for node in tree.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]


def child_text(node: ET.Element, tag: str) -> str | None:
    found = node.find(tag)
    return None if found is None else (found.text or "")
