"""natsobj: a fast, complete, wire-compatible NATS JetStream Object Store for Python.

import natsobj
async with await natsobj.connect() as client:
    store = await client.create_object_store("media")
    await store.put("hello.txt", b"hello")
    print(await store.get("hello.txt"))
"""

from ._client import Client, TransferSettings, connect
from ._store import ChunkRun, ChunkRuns, ObjectReader, ObjectStore, ObjectWatcher
from ._transfer import ProgressCallback, PutSource
from ._wire.errors import (
    BadObjectMetaError,
    BucketExistsError,
    BucketFullError,
    BucketNotFoundError,
    BucketReadOnlyError,
    BucketSealedError,
    ChunkMismatchError,
    ChunkTooLargeError,
    ConnectionLostError,
    DigestMismatchError,
    IntegrityError,
    InvalidBucketNameError,
    InvalidObjectNameError,
    InvalidReplicationError,
    JetStreamAPIError,
    LinkError,
    LinkIsABucketError,
    LinkNotAllowedError,
    MissingChunksError,
    NoLinkToDeletedError,
    NoLinkToLinkError,
    ObjectAlreadyExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    OriginUnreachableError,
    PermissionDeniedError,
    RevisionMismatchError,
    ServerError,
    SizeMismatchError,
    StoreTimeoutError,
    UpdateMetaDeletedError,
)
from ._wire.models import (
    ObjectInfo,
    ObjectLink,
    ObjectMeta,
    ObjectMetaOptions,
    ObjectStoreConfig,
    ObjectStoreStatus,
)
from ._wire.replication import Origin, OriginStatus, OrphanChunks, Replication

__version__ = "0.1.0"

__all__ = [
    "BadObjectMetaError",
    "BucketExistsError",
    "BucketFullError",
    "BucketNotFoundError",
    "BucketReadOnlyError",
    "BucketSealedError",
    "ChunkMismatchError",
    "ChunkRun",
    "ChunkRuns",
    "ChunkTooLargeError",
    "Client",
    "ConnectionLostError",
    "DigestMismatchError",
    "IntegrityError",
    "InvalidBucketNameError",
    "InvalidObjectNameError",
    "InvalidReplicationError",
    "JetStreamAPIError",
    "LinkError",
    "LinkIsABucketError",
    "LinkNotAllowedError",
    "MissingChunksError",
    "NoLinkToDeletedError",
    "NoLinkToLinkError",
    "ObjectAlreadyExistsError",
    "ObjectInfo",
    "ObjectLink",
    "ObjectMeta",
    "ObjectMetaOptions",
    "ObjectNotFoundError",
    "ObjectReader",
    "ObjectStore",
    "ObjectStoreConfig",
    "ObjectStoreError",
    "ObjectStoreStatus",
    "ObjectWatcher",
    "Origin",
    "OriginStatus",
    "OriginUnreachableError",
    "OrphanChunks",
    "PermissionDeniedError",
    "ProgressCallback",
    "PutSource",
    "Replication",
    "RevisionMismatchError",
    "ServerError",
    "SizeMismatchError",
    "StoreTimeoutError",
    "TransferSettings",
    "UpdateMetaDeletedError",
    "connect",
]
