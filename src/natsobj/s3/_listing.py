"""One page of an S3 listing, as a pure function over a bucket's sorted keys.

Keys sort in UTF-8 byte order, as S3 lists them. A page starts after a marker (exclusive),
keeps the keys under a prefix, rolls keys that hold the delimiter after the prefix into common
prefixes (each counted once against max-keys, as S3 counts them), and says where the next page
starts. Skipping a common prefix is a bisect, not a walk over its keys.
"""

from __future__ import annotations

import base64
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from ._errors import S3Error

_URL_PLAIN = re.compile(r"[A-Za-z0-9_.~/-]*")
"""What quote(s, safe="/") leaves as it is: a key made only of these is its own encoding."""


@dataclass(frozen=True)
class Page:
    keys: list[str] = field(default_factory=list)
    common_prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    next_marker: str | None = None
    """The last key or common prefix of the page, when it is truncated."""


def page(
    sorted_keys: Sequence[bytes],
    *,
    prefix: str = "",
    delimiter: str = "",
    after: str = "",
    max_keys: int = 1000,
) -> Page:
    """The page of `sorted_keys` (UTF-8 bytes, sorted) that S3 would list."""
    if max_keys <= 0:
        return Page()
    raw_prefix, raw_delim, raw_after = prefix.encode(), delimiter.encode(), after.encode()
    start = max(bisect_left(sorted_keys, raw_prefix), bisect_right(sorted_keys, raw_after))
    keys: list[str] = []
    prefixes: list[str] = []
    last = None
    i, end = start, len(sorted_keys)
    while i < end:
        key = sorted_keys[i]
        if not key.startswith(raw_prefix):
            break
        if len(keys) + len(prefixes) == max_keys:
            return Page(keys, prefixes, True, last)
        cut = key.find(raw_delim, len(raw_prefix)) if raw_delim else -1
        if cut < 0:
            keys.append(key.decode())
            last = keys[-1]
            i += 1
            continue
        common = key[: cut + len(raw_delim)]
        # keys under a common prefix sort before common + 0xff: UTF-8 never has that byte
        i = bisect_left(sorted_keys, common + b"\xff", i)
        if common <= raw_after:
            continue  # listed on an earlier page (the marker is inside it)
        prefixes.append(common.decode())
        last = prefixes[-1]
    return Page(keys, prefixes, False, None)


def token_for(marker: str) -> str:
    """An opaque continuation token for a page that starts after `marker`."""
    return base64.urlsafe_b64encode(marker.encode()).decode().rstrip("=")


def marker_of(token: str) -> str:
    """The marker a continuation token stands for; InvalidArgument if it is not one of ours."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        marker = raw.decode()
    except (ValueError, UnicodeDecodeError):
        marker = None
    if marker is None or token_for(marker) != token:
        raise bad_token()
    return marker


def bad_token() -> S3Error:
    """S3's answer to a continuation token it did not give (an empty one too)."""
    return S3Error(
        "InvalidArgument",
        "The continuation token provided is incorrect",
        ArgumentName="continuation-token",
    )


def max_keys_of(value: str | None) -> int:
    """max-keys as S3 reads it: 0 to 1000 (larger asks get 1000)."""
    if value is None or value == "":
        return 1000
    try:
        asked = int(value)
    except ValueError:
        raise S3Error(
            "InvalidArgument", "Provided max-keys not an integer or within integer range"
        ) from None
    if asked < 0:
        raise S3Error("InvalidArgument", "max-keys must not be negative")
    return min(asked, 1000)


def url_encoded(value: str) -> str:
    """A key, prefix or marker as a listing with encoding-type=url shows it."""
    return value if _URL_PLAIN.fullmatch(value) else quote(value, safe="/")


def _same(value: str) -> str:
    return value


def encoder(kind: str | None) -> tuple[str | None, Callable[[str], str]]:
    """The EncodingType a listing echoes and how it encodes keys, for an `encoding-type`
    query value (absent: none; "url"; anything else, an empty value too: InvalidArgument)."""
    if kind is None:
        return None, _same
    if kind.lower() != "url":
        raise S3Error(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=kind,
        )
    return "url", url_encoded
