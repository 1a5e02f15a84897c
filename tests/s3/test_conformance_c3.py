"""The gateway's answers where S3's differ from what a SigV4 verifier might say, checked
against the real gateway: an empty Authorization header and a path that is not UTF-8."""

from __future__ import annotations

from ._raw import request, sign, signed_request
from .conftest import Gateway


def test_an_empty_authorization_header_is_an_anonymous_request(gateway: Gateway, bucket) -> None:
    headers = sign(gateway.endpoint, "GET", f"/{bucket}")
    headers["Authorization"] = ""
    answer = request(gateway.endpoint, "GET", f"/{bucket}", headers)
    assert (answer.status, answer.error()[0]) == (403, "AccessDenied")


def test_a_path_that_is_not_utf8_could_not_be_parsed(gateway: Gateway, bucket) -> None:
    answer = signed_request(gateway.endpoint, "GET", f"/{bucket}/%AE%8A-")
    assert answer.status == 400
    assert answer.error() == ("InvalidURI", "Couldn't parse the specified URI.")
