"""Every error natsobj raises, named after nats.go's so docs line up across languages.

ObjectStoreError
├── InvalidBucketNameError      bucket name not [a-zA-Z0-9_-]+
├── InvalidObjectNameError      empty object name
├── BucketNotFoundError         no stream OBJ_<bucket>
├── BucketExistsError           bucket exists with another config
├── ObjectNotFoundError         no such object (or it is deleted)
├── ObjectAlreadyExistsError    rename or link onto a live name
├── RevisionMismatchError       a conditional put found another revision than it asked for
├── UpdateMetaDeletedError      update_meta of a missing or deleted object
├── BadObjectMetaError          meta JSON that cannot be understood
├── LinkError                   a link rule was broken
│   ├── LinkIsABucketError      get of a bucket link
│   ├── NoLinkToDeletedError    link to a deleted object
│   ├── NoLinkToLinkError       link to a link
│   └── LinkNotAllowedError     put with options.link
├── IntegrityError              what was read is not what was written
│   ├── DigestMismatchError     SHA-256 differs
│   ├── SizeMismatchError       byte count differs from the meta
│   ├── ChunkMismatchError      chunk count differs from the meta
│   └── MissingChunksError      chunks are gone from the stream
├── BucketSealedError           server 10109
├── BucketReadOnlyError         a write into a mirror, replica or read-only aggregate
├── OriginUnreachableError      a copy's garbage collection could not ask its origin
├── InvalidReplicationError     a mirror or sources that cannot be built
├── BucketFullError             server 10077 (max_bytes reached)
├── ChunkTooLargeError          chunk size above the server's max_payload
├── PermissionDeniedError       the user may not touch this subject
├── StoreTimeoutError           the server did not answer in time
├── ConnectionLostError         no connection to any server
├── JetStreamAPIError           any other JetStream API error (code, err_code, description)
└── ServerError                 the local nats-server could not be found, started or stopped
"""

from __future__ import annotations


class ObjectStoreError(Exception):
    """Base class of every natsobj error."""


class InvalidBucketNameError(ObjectStoreError, ValueError):
    """The bucket name is not made only of letters, digits, '_' and '-'."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"invalid object-store name {name!r}: use only letters, digits, '_' and '-'"
        )
        self.name = name


class InvalidObjectNameError(ObjectStoreError, ValueError):
    """The object name is empty."""

    def __init__(self, detail: str = "object name is required and cannot be empty") -> None:
        super().__init__(detail)


class BucketNotFoundError(ObjectStoreError):
    """The bucket (stream OBJ_<bucket>) does not exist."""

    def __init__(self, bucket: str) -> None:
        super().__init__(
            f"bucket not found: {bucket!r}; create it first (create_object_store / "
            "'natsobj bucket add')"
        )
        self.bucket = bucket


class BucketExistsError(ObjectStoreError):
    """A bucket of that name exists with a different configuration."""

    def __init__(self, bucket: str) -> None:
        super().__init__(
            f"bucket name already in use: {bucket!r} exists with another configuration; "
            "bind to it with object_store() or change it with update_object_store()"
        )
        self.bucket = bucket


class ObjectNotFoundError(ObjectStoreError, KeyError):
    """The object does not exist in the bucket, or it is deleted."""

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__(f"object not found: {name!r} in bucket {bucket!r}")
        self.bucket = bucket
        self.name = name

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class ObjectAlreadyExistsError(ObjectStoreError):
    """A live object already holds the name a rename or link wants."""

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__(
            f"an object already exists with that name: {name!r} in bucket {bucket!r}; "
            "delete it first or pick another name"
        )
        self.bucket = bucket
        self.name = name


class RevisionMismatchError(ObjectStoreError):
    """A conditional put (`if_revision`) found the name at another revision: nothing stored."""

    def __init__(self, bucket: str, name: str, expected: int, found: int | None) -> None:
        wanted = "no live object" if expected == 0 else f"revision {expected}"
        there = "no live object" if found is None else f"revision {found}"
        super().__init__(
            f"put of {name!r} in bucket {bucket!r} refused: it asked for {wanted}, the bucket "
            f"has {there}; read the object again and retry"
        )
        self.bucket = bucket
        self.name = name
        self.expected = expected
        self.found = found


class UpdateMetaDeletedError(ObjectStoreError):
    """update_meta of an object that is missing or deleted."""

    def __init__(self, bucket: str, name: str) -> None:
        super().__init__(
            f"cannot update meta for a deleted object: {name!r} in bucket {bucket!r} "
            "is missing or deleted"
        )
        self.bucket = bucket
        self.name = name


class BadObjectMetaError(ObjectStoreError):
    """A meta message could not be parsed or lacks what it needs."""


class LinkError(ObjectStoreError):
    """A link rule was broken."""


class LinkIsABucketError(LinkError):
    """get() of a link that points to a whole bucket."""

    def __init__(self, name: str, bucket: str) -> None:
        super().__init__(
            f"invalid get, object is a link to a bucket: {name!r} links to bucket {bucket!r}; "
            "bind that bucket with object_store() instead"
        )


class NoLinkToDeletedError(LinkError):
    """add_link() to a deleted object."""

    def __init__(self, name: str) -> None:
        super().__init__(f"not allowed to link to a deleted object: {name!r}")


class NoLinkToLinkError(LinkError):
    """add_link() to an object that is itself a link."""

    def __init__(self, name: str) -> None:
        super().__init__(f"not allowed to link to another link: {name!r}; link to its target")


class LinkNotAllowedError(LinkError):
    """put() with a meta that carries options.link."""

    def __init__(self) -> None:
        super().__init__("link cannot be set when putting the object in bucket; use add_link()")


class IntegrityError(ObjectStoreError):
    """What was read does not match what the meta says was written."""


class DigestMismatchError(IntegrityError):
    """The SHA-256 of the bytes read differs from the meta's digest."""


class SizeMismatchError(IntegrityError):
    """The number of bytes read differs from the meta's size."""


class ChunkMismatchError(IntegrityError):
    """The number of chunks read differs from the meta's chunk count."""


class MissingChunksError(IntegrityError):
    """Chunks the meta promises are not in the stream (lost, purged or never written)."""


class BucketSealedError(ObjectStoreError):
    """The bucket is sealed: nothing can be written or deleted (server err_code 10109)."""

    def __init__(self, bucket: str) -> None:
        super().__init__(f"bucket {bucket!r} is sealed: it is read-only; write to another bucket")
        self.bucket = bucket


class BucketReadOnlyError(ObjectStoreError):
    """A write into a bucket that copies another: a mirror, a replica or a read-only aggregate.

    Raised before anything is sent; `reason` names the origin and how to write to it.
    """

    def __init__(self, bucket: str, reason: str) -> None:
        super().__init__(reason)
        self.bucket = bucket


class OriginUnreachableError(ObjectStoreError):
    """A copy's purge_orphans could not confirm with an origin which chunks it purged: nothing
    was purged. `origins` names them ('A@edge'); run it again once they answer."""

    def __init__(self, bucket: str, origins: tuple[str, ...], detail: str = "") -> None:
        named = ", ".join(origins)
        super().__init__(
            f"bucket {bucket!r}: cannot confirm with origin {named} which orphan chunks were "
            f"purged there; not purging (run it again once the origin answers){detail}"
        )
        self.bucket = bucket
        self.origins = origins


class InvalidReplicationError(ObjectStoreError, ValueError):
    """A mirror or sources that cannot be built (e.g. a bucket mirroring itself)."""


class BucketFullError(ObjectStoreError):
    """The bucket reached its max_bytes (server err_code 10077)."""

    def __init__(self, bucket: str) -> None:
        super().__init__(
            f"bucket {bucket!r} is full (maximum bytes exceeded); delete objects or raise "
            "max_bytes with update_object_store()"
        )
        self.bucket = bucket


class ChunkTooLargeError(ObjectStoreError, ValueError):
    """The chunk size is above what the server accepts in one message."""

    def __init__(
        self, chunk_size: int = 0, max_payload: int = 0, *, detail: str | None = None
    ) -> None:
        super().__init__(
            detail
            or f"chunk size {chunk_size} is larger than the server's max_payload {max_payload}; "
            f"use chunk_size <= {max_payload}"
        )
        self.chunk_size = chunk_size
        self.max_payload = max_payload


class PermissionDeniedError(ObjectStoreError):
    """The server refused the operation for lack of permission."""


class StoreTimeoutError(ObjectStoreError, TimeoutError):
    """The server did not answer in time."""


class ConnectionLostError(ObjectStoreError, ConnectionError):
    """There is no connection to any NATS server."""


class JetStreamAPIError(ObjectStoreError):
    """A JetStream API error that has no more specific class."""

    def __init__(self, code: int, err_code: int, description: str, context: str = "") -> None:
        where = f"{context}: " if context else ""
        super().__init__(f"{where}JetStream API error {code} (err_code {err_code}): {description}")
        self.code = code
        self.err_code = err_code
        self.description = description


class ServerError(ObjectStoreError):
    """The local nats-server could not be found, started, reached or stopped."""
