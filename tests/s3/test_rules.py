"""The gateway's pure rules, with plain values: listing pages, ranges, conditions, names, XML."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from natsobj import ObjectInfo
from natsobj.s3 import _listing, _rules, _xml
from natsobj.s3._errors import S3Error

KEYS = sorted(
    k.encode()
    for k in ["a", "a/1", "a/2", "a/b/c", "b", "b/x", "c.txt", "d/", "d/e", "é", "z/1", "z/2"]
)


def page(**kw: object) -> _listing.Page:
    return _listing.page(KEYS, **kw)  # type: ignore[arg-type]


def test_a_page_without_delimiter_lists_keys_in_byte_order() -> None:
    assert page(max_keys=3) == _listing.Page(["a", "a/1", "a/2"], [], True, "a/2")
    assert page(after="a/2", max_keys=2).keys == ["a/b/c", "b"]
    assert page(prefix="z/").keys == ["z/1", "z/2"] and not page(prefix="z/").truncated


def test_common_prefixes_count_once_against_max_keys() -> None:
    assert page(delimiter="/") == _listing.Page(["a", "b", "c.txt", "é"], ["a/", "b/", "d/", "z/"])
    first = page(delimiter="/", max_keys=2)
    assert (first.keys, first.common_prefixes, first.truncated) == (["a"], ["a/"], True)
    second = page(delimiter="/", max_keys=2, after=first.next_marker or "")
    assert (second.keys, second.common_prefixes) == (["b"], ["b/"])


def test_a_marker_inside_a_common_prefix_does_not_list_it_again() -> None:
    assert page(delimiter="/", after="a/1").common_prefixes == ["b/", "d/", "z/"]
    assert page(prefix="a/", delimiter="/").common_prefixes == ["a/b/"]
    assert page(prefix="a/", delimiter="/").keys == ["a/1", "a/2"]


def test_max_keys_zero_and_limits() -> None:
    assert page(max_keys=0) == _listing.Page()
    assert _listing.max_keys_of("5000") == 1000 and _listing.max_keys_of(None) == 1000
    with pytest.raises(S3Error):
        _listing.max_keys_of("-1")
    with pytest.raises(S3Error):
        _listing.max_keys_of("x")


def test_continuation_tokens_round_trip_and_bad_ones_are_refused() -> None:
    for marker in ["", "a/b", "é漢字 +%"]:
        assert _listing.marker_of(_listing.token_for(marker)) == marker
    for bad in ["@@@not-base64@@@\xff", "!!!", "YQ==", "YR", "/w"]:
        # not base64url, padded, non-canonical bits, not UTF-8: none of them is a token of ours
        with pytest.raises(S3Error) as caught:
            _listing.marker_of(bad)
        assert caught.value.code == "InvalidArgument"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=2-", 10, (2, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("bytes=5-100", 10, (5, 9)),
        ("bytes=5-2", 10, None),  # invalid: the whole object, as S3
        ("bytes=0-1,4-5", 10, None),  # several ranges: the whole object
        ("items=0-1", 10, None),
    ],
)
def test_ranges(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert _rules.parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=0-", 0), ("bytes=-0", 5)])
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(S3Error) as caught:
        _rules.parse_range(header, size)
    assert caught.value.status == 416 and caught.value.headers["Content-Range"] == f"bytes */{size}"


NOW = datetime(2026, 12, 2, 12, 0, 0, 500_000, tzinfo=timezone.utc)


def h(**kw: str) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in kw.items()}


def date(delta: float) -> str:
    return _rules.http_date(NOW + timedelta(seconds=delta))


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        (h(), None),
        (h(if_match='"e"'), None),
        (h(if_match='"x", "e"'), None),
        (h(if_match="*"), None),
        (h(if_match='"x"'), 412),
        (h(if_none_match='"e"'), 304),
        (h(if_none_match='W/"e"'), 304),
        (h(if_none_match='"x"'), None),
        (h(if_modified_since=date(0)), 304),  # whole seconds: not modified since then
        (h(if_modified_since=date(-1)), None),
        (h(if_unmodified_since=date(-1)), 412),
        (h(if_unmodified_since=date(0)), None),
        (h(if_match='"e"', if_unmodified_since=date(-60)), None),  # If-Match wins
        (h(if_none_match='"x"', if_modified_since=date(60)), None),  # If-None-Match wins
        (h(if_modified_since="not a date"), None),
    ],
)
def test_conditions_follow_rfc_7232(headers: dict[str, str], verdict: int | None) -> None:
    decided = _rules.evaluate_conditions(headers, '"e"', NOW)
    assert (decided[0] if decided is not None else None) == verdict


def test_copy_source_conditions_are_all_412() -> None:
    prefix = "x-amz-copy-source-"
    none_match = {prefix + "if-none-match": '"e"'}
    assert _rules.evaluate_conditions(none_match, '"e"', NOW, prefix=prefix) == (
        412,
        prefix + "If-None-Match",
    )
    since = {prefix + "if-modified-since": date(60)}
    assert _rules.evaluate_conditions(since, '"e"', NOW, prefix=prefix) == (
        412,
        prefix + "If-Modified-Since",
    )


def test_etags() -> None:
    mine = ObjectInfo(name="a", bucket="b", nuid="n", digest="SHA-256=" + "A" * 43, headers={})
    assert _rules.etag_of(mine).endswith('-1"') and len(_rules.etag_of(mine)) == 64 + 4
    gw = ObjectInfo(name="a", bucket="b", nuid="n", headers={_rules.ETAG_HEADER: ["abc-2"]})
    assert _rules.etag_of(gw) == '"abc-2"'


@pytest.mark.parametrize(
    "name", ["ab", "A-b", "a..b", "-ab", "192.168.1.1", "xn--a", "a_b", "a" * 64]
)
def test_bad_new_bucket_names(name: str) -> None:
    with pytest.raises(S3Error) as caught:
        _rules.check_new_bucket_name(name)
    assert caught.value.code == "InvalidBucketName"


def test_dotted_bucket_names_say_why() -> None:
    with pytest.raises(S3Error, match="dot"):
        _rules.check_new_bucket_name("my.bucket")
    assert _rules.check_new_bucket_name("my-bucket-1") == "my-bucket-1"


def test_keys_and_metadata_limits() -> None:
    with pytest.raises(S3Error) as caught:
        _rules.check_key("k" * 1025)
    assert caught.value.code == "KeyTooLongError"
    with pytest.raises(S3Error) as caught:
        _rules.stored_meta({"x-amz-meta-big": "v" * 2100})
    assert caught.value.code == "MetadataTooLarge"
    headers, metadata = _rules.stored_meta(
        {"content-type": "text/plain", "content-encoding": "aws-chunked", "x-amz-meta-a": "1"}
    )
    assert headers == {"Content-Type": "text/plain"} and metadata == {"a": "1"}


def test_xml_parsing_refuses_what_it_must() -> None:
    doc = _xml.parse(
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet></Delete>',
        "Delete",
    )
    assert _xml.child_text(doc, "Quiet") == "true"
    for bad in [b"", b"<Delete>", b"<Other/>", b'<!DOCTYPE x [<!ENTITY a "b">]><Delete/>']:
        with pytest.raises(S3Error) as caught:
            _xml.parse(bad, "Delete")
        assert caught.value.code == "MalformedXML"
    assert _xml.text('a<&>"b') == "a&lt;&amp;&gt;&quot;b"
    assert _xml.iso_time(NOW) == "2026-12-02T12:00:00.500Z"


def test_xml_text_and_url_encoding_fast_paths_match_the_general_ones() -> None:
    from urllib.parse import quote

    from natsobj.s3._listing import url_encoded as _url_encoded

    table = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})
    samples = ["", "plain/key-1.txt", "~_.-/", "a b+c", "&&<<>>", '"q"', "x\r\ny", "é/ü?=#%"]
    for value in [*samples, "a&amp;"]:
        assert _xml.text(value) == value.translate(table)
        assert _url_encoded(value) == quote(value, safe="/")
    assert _xml.text(12) == "12" and _xml.text(False) == "false"
    later = datetime(2026, 12, 2, 13, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    assert _xml.iso_time(later) == "2026-12-02T12:00:00.999Z"
