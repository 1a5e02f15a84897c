"""Value types of the object store: what an object and a bucket look like to a user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .digest import digest_hex as _digest_hex
from .names import stream_name as _stream_name
from .replication import Origin, Replication


@dataclass(frozen=True)
class ObjectLink:
    """Where a link points: an object (bucket and name) or, with no name, a whole bucket."""

    bucket: str
    name: str | None = None

    @property
    def is_bucket_link(self) -> bool:
        return not self.name


@dataclass(frozen=True)
class ObjectMetaOptions:
    """Options stored with an object: a link target and the chunk size used to write it."""

    link: ObjectLink | None = None
    max_chunk_size: int = 0


@dataclass(frozen=True)
class ObjectMeta:
    """What a caller may set on an object: name, description, headers, metadata."""

    name: str
    description: str | None = None
    headers: Mapping[str, list[str]] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    options: ObjectMetaOptions | None = None


@dataclass(frozen=True)
class ObjectInfo:
    """An object as its meta message describes it."""

    name: str
    bucket: str
    nuid: str
    size: int = 0
    chunks: int = 0
    digest: str | None = None
    mtime: datetime | None = None
    deleted: bool = False
    description: str | None = None
    headers: Mapping[str, list[str]] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    options: ObjectMetaOptions | None = None
    revision: int = 0
    """Stream sequence of the meta message (0 when unknown)."""

    def with_revision(self, revision: int) -> ObjectInfo:
        """This info at another revision (dataclasses.replace, without its cost per call)."""
        copy = object.__new__(ObjectInfo)
        copy.__dict__.update(self.__dict__)
        copy.__dict__["revision"] = revision
        return copy

    @property
    def link(self) -> ObjectLink | None:
        return self.options.link if self.options else None

    @property
    def is_link(self) -> bool:
        return self.link is not None

    @property
    def chunk_size(self) -> int:
        return self.options.max_chunk_size if self.options else 0

    @property
    def digest_hex(self) -> str | None:
        """The SHA-256 as lowercase hex, as sha256sum prints it."""
        return _digest_hex(self.digest)

    @property
    def meta(self) -> ObjectMeta:
        return ObjectMeta(
            name=self.name,
            description=self.description,
            headers=self.headers,
            metadata=self.metadata,
            options=self.options,
        )


@dataclass(frozen=True)
class ObjectStoreConfig:
    """How a bucket is configured."""

    bucket: str
    description: str | None = None
    ttl: timedelta | float | None = None
    max_bytes: int | None = None
    storage: str = "file"
    replicas: int = 1
    compression: bool = False
    placement: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None
    mirror: Origin | None = None
    """Mirror this origin (read-only); in the same JetStream it is built as a replica."""
    sources: tuple[Origin, ...] = ()
    """Aggregate these origins (read-only unless `writable`)."""
    writable: bool = False
    """An aggregate that also takes writes of its own."""


@dataclass(frozen=True)
class ObjectStoreStatus:
    """A bucket's configuration and state."""

    bucket: str
    description: str | None
    ttl: timedelta | None
    storage: str
    replicas: int
    sealed: bool
    size: int
    """Bytes held by the stream: every chunk and meta message."""
    objects: int
    """Number of meta subjects (live objects, links and tombstones)."""
    compression: bool
    metadata: Mapping[str, str]
    max_bytes: int | None
    backing_store: str = "JetStream"
    replication: Replication | None = None
    """What the bucket copies from (mirror, replica, aggregate); None for a plain bucket."""
    created: datetime | None = None
    """When the bucket's stream was created (the server's clock)."""
    stream_info: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_compressed(self) -> bool:
        return self.compression

    @property
    def stream(self) -> str:
        """The JetStream stream that backs the bucket."""
        return _stream_name(self.bucket)
