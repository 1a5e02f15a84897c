"""Answers pinned to what AWS S3 gives (LocalStack's AWS-validated S3 tests and the responses
they recorded from AWS): presigned URLs and SigV4 refusals, headers and metadata, errors for
what is missing, key names. Each test names the validated test whose snapshot it follows."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from botocore.auth import AUTH_TYPE_MAPS, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from ._raw import UNSIGNED, signed_request
from .conftest import KEYS

MD5_123456 = "4QrcOUm6Wau+VuBX8g+IPg=="  # base64 of the MD5 of b"123456"


def error_of(answer: httpx.Response) -> dict[str, str]:
    """The elements of an S3 error document, by tag."""
    root = ET.fromstring(answer.content)
    assert root.tag == "Error", answer.text[:300]
    return {child.tag: child.text or "" for child in root}


# ---------------------------------------------------------------------------------------------
# presigned URLs


def test_presigned_url_ignores_an_unsigned_content_sha256_header(s3, bucket, monkeypatch):
    """TestS3PresignedUrl::test_s3_ignored_special_headers: an x-amz-content-sha256 header the
    URL does not sign is ignored (the Go SDK sends one), other unsigned x-amz-* are refused."""
    monkeypatch.setitem(AUTH_TYPE_MAPS, "s3v4-query", S3SigV4QueryAuth)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    answer = httpx.put(
        url, content=b"something", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    assert answer.status_code == 200, answer.text
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"something"
    answer = httpx.put(url, content=b"something", headers={"x-amz-user-agent": "test"})
    assert answer.status_code == 403
    assert error_of(answer)["HeadersNotSigned"] == "x-amz-user-agent"


def test_presigned_url_names_the_unsigned_headers(s3, bucket):
    """test_put_object_with_md5_and_chunk_signature_bad_headers[s3v4-True]: AccessDenied with
    the unsigned headers in HeadersNotSigned (x-amz-content-sha256 is not one of them)."""
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    headers = {
        "X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "X-Amz-Date": "20211122T191045Z",
        "X-Amz-Decoded-Content-Length": "test",
    }
    answer = httpx.put(url, content=b"test", headers=headers)
    assert answer.status_code == 403
    error = error_of(answer)
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == "There were headers present in the request which were not signed"
    assert error["HeadersNotSigned"] == "x-amz-date, x-amz-decoded-content-length"


def test_expired_presigned_url_says_when(s3, bucket):
    """test_s3_presigned_url_expired[s3v4]: AccessDenied "Request has expired" with the
    X-Amz-Expires, Expires and ServerTime elements."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["X-Amz-Date"] = "20200101T000000Z"
    query["X-Amz-Credential"] = query["X-Amz-Credential"].replace(
        query["X-Amz-Credential"].split("/")[1], "20200101"
    )
    answer = httpx.get(urlunsplit(parts._replace(query=urlencode(query))))
    assert answer.status_code == 403
    error = error_of(answer)
    assert (error["Code"], error["Message"]) == ("AccessDenied", "Request has expired")
    assert error["X-Amz-Expires"] == query["X-Amz-Expires"]
    assert error["Expires"] == "2020-01-01T01:00:00Z"
    assert error["ServerTime"].endswith("Z") and error["ServerTime"] > "2020"


def test_signature_mismatch_shows_what_was_signed(s3, bucket):
    """test_s3_put_presigned_url_with_different_headers[s3v4]: SignatureDoesNotMatch carries
    AWSAccessKeyId, StringToSign, SignatureProvided, CanonicalRequest and their bytes."""
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "k", "ContentType": "text/plain"}
    )
    answer = httpx.put(url, content=b"data", headers={"Content-Type": "text/xml"})
    assert answer.status_code == 403
    error = error_of(answer)
    assert error["Code"] == "SignatureDoesNotMatch"
    assert error["AWSAccessKeyId"] == s3._request_signer._credentials.access_key
    assert error["SignatureProvided"] == parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert error["CanonicalRequest"].startswith(f"PUT\n/{bucket}/k\n")
    assert "content-type:text/xml\n" in error["CanonicalRequest"]
    assert bytes.fromhex(error["StringToSignBytes"]).decode() == error["StringToSign"]
    assert bytes.fromhex(error["CanonicalRequestBytes"]).decode() == error["CanonicalRequest"]


def test_presigned_url_header_overriding_a_signed_parameter(s3, bucket):
    """test_s3_put_presigned_url_same_header_and_qs_parameter: an x-amz-expires header is an
    unsigned header (AccessDenied, HeadersNotSigned)."""
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    answer = httpx.put(url, content=b"data", headers={"x-amz-expires": "5"})
    assert answer.status_code == 403
    error = error_of(answer)
    assert (error["Code"], error["HeadersNotSigned"]) == ("AccessDenied", "x-amz-expires")


# ---------------------------------------------------------------------------------------------
# errors: what they name


def test_precondition_failed_names_the_failed_header(s3, bucket):
    """TestS3::test_precondition_failed_error: Condition is If-Match when If-Match failed."""
    s3.put_object(Bucket=bucket, Key="k", Body=b'{"foo": "bar"}')
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"not good etag"')
    assert info.value.response["Error"]["Condition"] == "If-Match"
    past = datetime(2000, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="k", IfUnmodifiedSince=past)
    assert info.value.response["Error"]["Condition"] == "If-Unmodified-Since"


@pytest.mark.parametrize("md5", ["__invalid__", "000", "not base64 encoded checksum", "MTIz"])
def test_malformed_content_md5_is_echoed(s3, bucket, md5):
    """TestS3::test_s3_invalid_content_md5: InvalidDigest with the Content-MD5 sent."""
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"something", ContentMD5=md5)
    error = info.value.response["Error"]
    assert (error["Code"], error["Content-MD5"]) == ("InvalidDigest", md5)


# ---------------------------------------------------------------------------------------------
# key names


def test_copy_source_plus_is_a_space(gateway, s3, bucket):
    """TestS3::test_copy_object_special_character_plus_for_space: x-amz-copy-source is
    form-decoded, so `+` is a space (as Go clients encode it); a literal plus is %2B."""
    s3.put_object(Bucket=bucket, Key="test key.txt", Body=b"test-body")
    s3.put_object(Bucket=bucket, Key="a+b", Body=b"plus")
    for source, dest in ((f"{bucket}%2Ftest+key.txt", "dest"), (f"{bucket}/a%2Bb", "dest2")):
        target = f"/{bucket}/{dest}"
        headers = {"x-amz-copy-source": source, "Host": urlsplit(gateway.endpoint).netloc}
        answer = signed_request(gateway.endpoint, "PUT", target, headers, payload=UNSIGNED)
        assert answer.status == 200, answer.body
    assert s3.get_object(Bucket=bucket, Key="dest")["Body"].read() == b"test-body"
    assert s3.get_object(Bucket=bucket, Key="dest2")["Body"].read() == b"plus"


def test_copy_precondition_names_the_failed_header(s3, bucket):
    """TestS3::test_s3_copy_object_preconditions: Condition is the x-amz-copy-source-If-*
    header that failed, in S3's order of evaluation."""
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"data")["ETag"]
    now = datetime.now(timezone.utc)
    day = timedelta(days=1)
    cases = [
        ({"CopySourceIfMatch": "etag123", "CopySourceIfUnmodifiedSince": now - day}, "If-Match"),
        (
            {"CopySourceIfUnmodifiedSince": now - day, "CopySourceIfNoneMatch": etag},
            "If-Unmodified-Since",
        ),
        ({"CopySourceIfModifiedSince": now, "CopySourceIfNoneMatch": etag}, "If-None-Match"),
        ({"CopySourceIfModifiedSince": now}, "If-Modified-Since"),
    ]
    for conditions, failed in cases:
        with pytest.raises(ClientError) as info:
            s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", **conditions)
        assert info.value.response["Error"]["Condition"] == "x-amz-copy-source-" + failed


# ---------------------------------------------------------------------------------------------
# storage classes


def test_an_invalid_storage_class_is_refused(s3, bucket):
    """TestS3::test_put_object_storage_class_outposts: 400 InvalidStorageClass naming it, on
    PutObject and CreateMultipartUpload; nothing is stored."""
    for call in (s3.put_object, s3.create_multipart_upload):
        with pytest.raises(ClientError) as info:
            call(Bucket=bucket, Key="k", StorageClass="OUTPOSTS")
        error = info.value.response["Error"]
        assert (error["Code"], error["StorageClassRequested"]) == (
            "InvalidStorageClass",
            "OUTPOSTS",
        )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_other_storage_classes_are_not_implemented(s3, bucket):
    """test_put_object_storage_class: S3 stores STANDARD_IA, GLACIER... natsobj stores
    STANDARD only, so another class is 501 NotImplemented, not silently STANDARD."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass="STANDARD")
    for storage_class in ("STANDARD_IA", "GLACIER", "DEEP_ARCHIVE"):
        with pytest.raises(ClientError) as info:
            s3.put_object(Bucket=bucket, Key="k2", Body=b"x", StorageClass=storage_class)
        assert info.value.response["Error"]["Code"] == "NotImplemented"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="k3", CopySource=f"{bucket}/k", StorageClass="GLACIER")
    assert info.value.response["Error"]["Code"] == "NotImplemented"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


# ---------------------------------------------------------------------------------------------
# timestamps and bucket headers


def test_creation_date_and_copy_time_are_whole_seconds(s3, bucket):
    """TestS3::test_s3_timestamp_precision: ListBuckets' CreationDate and CopyObjectResult's
    LastModified are written as 2023-11-15T12:02:40.000Z."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"test-body")
    listing = httpx.get(s3.generate_presigned_url("list_buckets"))
    dates = re.findall(r"<CreationDate>([^<]+)</CreationDate>", listing.text)
    assert dates and all(d.endswith(".000Z") and len(d) == 24 for d in dates), dates
    params = {"Bucket": bucket, "Key": "copy", "CopySource": f"{bucket}/k"}
    answer = httpx.put(
        s3.generate_presigned_url("copy_object", Params=params),
        headers={"x-amz-copy-source": f"{bucket}/k"},
    )
    assert answer.status_code == 200, answer.text
    moment = re.search(r"<LastModified>([^<]+)</LastModified>", answer.text)
    assert moment and moment.group(1).endswith(".000Z") and len(moment.group(1)) == 24


def test_head_bucket_headers(s3, bucket):
    """TestS3::test_create_bucket_head_bucket: HeadBucket answers x-amz-bucket-region,
    x-amz-access-point-alias: false and Content-Type: application/xml."""
    answer = s3.head_bucket(Bucket=bucket)
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-bucket-region"] == "us-east-1"
    assert headers["x-amz-access-point-alias"] == "false"
    assert headers["content-type"] == "application/xml"
    assert answer["AccessPointAlias"] is False


# ---------------------------------------------------------------------------------------------
# a missing bucket


@pytest.mark.parametrize(
    "call",
    [
        lambda s3, name: s3.get_bucket_notification_configuration(Bucket=name),
        lambda s3, name: s3.get_bucket_replication(Bucket=name),
        lambda s3, name: s3.put_bucket_request_payment(
            Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"}
        ),
        lambda s3, name: s3.put_bucket_policy(Bucket=name, Policy="{}"),
    ],
    ids=["notification", "replication", "requestPayment", "policy"],
)
def test_unsupported_subresource_of_a_missing_bucket_is_no_such_bucket(s3, call):
    """test_get_bucket_notification_configuration_no_such_bucket, test_bucket_availability,
    test_s3_request_payer_exceptions: NoSuchBucket comes first, before NotImplemented."""
    name = f"missing-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as info:
        call(s3, name)
    error = info.value.response["Error"]
    assert (error["Code"], error["BucketName"]) == ("NoSuchBucket", name)


def test_unsupported_subresource_of_a_bucket_is_still_not_implemented(s3, bucket):
    with pytest.raises(ClientError) as info:
        s3.get_bucket_replication(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "NotImplemented"


def test_presigned_url_with_headers_hoisted_into_its_query(gateway, s3, bucket):
    """TestS3PresignedUrl::test_presigned_url_v4_x_amz_in_qs: the AWS JS SDK signs
    x-amz-meta-* and x-amz-storage-class as query parameters; S3 stores that metadata."""
    target = f"{gateway.endpoint}/{bucket}/k?x-amz-storage-class=STANDARD&x-amz-meta-foo=bar-qs"
    request = AWSRequest(method="PUT", url=target, headers={"Content-MD5": MD5_123456})
    access, secret = KEYS[0]
    S3SigV4QueryAuth(Credentials(access, secret), "s3", "us-east-1", expires=60).add_auth(request)
    answer = httpx.put(request.url, content=b"123456", headers={"Content-MD5": MD5_123456})
    assert answer.status_code == 200, answer.text
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["Metadata"] == {"foo": "bar-qs"}
    assert head["ETag"] == '"e10adc3949ba59abbe56e057f20f883e"'
