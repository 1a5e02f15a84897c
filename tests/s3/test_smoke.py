"""First contact: boto3 against a real gateway process."""

from __future__ import annotations


def test_put_get_list_delete(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello", ContentType="text/plain")
    got = s3.get_object(Bucket=bucket, Key="a/b.txt")
    assert got["Body"].read() == b"hello"
    assert got["ContentType"] == "text/plain"
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["a/b.txt"]
