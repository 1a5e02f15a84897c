"""How NatsFileSystem lists: one list() of a bucket fills the cache with every directory in it
(directories exist only through their objects), and ls() and info() answer from that cache."""

from __future__ import annotations

import contextlib
import errno
from typing import Any

from .._wire.errors import ObjectNotFoundError
from ._base import BaseFileSystem


class ListingFileSystem(BaseFileSystem):
    """Listings and info of a NatsFileSystem, cached for `listings_expiry_time` seconds."""

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget cached listings: all, or those at, under and above `path`."""
        if path is None:
            self.dircache.clear()
            self._stores.clear()
        else:
            path = self._strip_protocol(path)
            prefix = path + "/"
            for key in [k for k in self.dircache if k.startswith(prefix)]:
                self.dircache.pop(key, None)
            while True:
                self.dircache.pop(path, None)
                if not path:
                    break
                path = self._parent(path)
        super().invalidate_cache(path)

    def _list_buckets(self) -> list[dict[str, Any]]:
        entries = [self._dir(name) for name in self.client.object_store_names()]
        self.dircache[""] = entries
        return entries

    def _list_bucket(self, bucket: str) -> dict[str, list[dict[str, Any]]]:
        """Every directory listing of a bucket from one list(); all of them are cached."""
        store = self._store(bucket)
        with self._translate(bucket):
            infos = store.list()
        dirs: dict[str, dict[tuple[str, str], dict[str, Any]]] = {bucket: {}}
        for info in infos:
            child = self._entry(bucket, info)
            parent = _listing_dir(bucket, info.name)
            while True:
                known = parent in dirs
                dirs.setdefault(parent, {})[(child["name"], child["type"])] = child
                if known or parent == bucket:
                    break
                child = self._dir(parent)
                parent = parent.rsplit("/", 1)[0]
        listings = {path: list(entries.values()) for path, entries in dirs.items()}
        for path, listing in listings.items():
            self.dircache[path] = listing
        return listings

    def ls(self, path: str, detail: bool = True, refresh: bool = False, **kwargs: Any) -> Any:
        """Entries at `path`: buckets at the root, objects and synthesized directories below."""
        path = self._strip_protocol(path)
        listing = None if refresh else self._cached_listing(path)
        if listing is None:
            if not path:
                listing = self._list_buckets()
            else:
                bucket = self._split(path)[0]
                listings = self._list_bucket(bucket)
                listing = listings.get(path)
                if listing is None:
                    parent = listings.get(self._parent(path), [])
                    listing = [e for e in parent if e["name"] == path and e["type"] == "file"]
                    if not listing:
                        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)
        if detail:
            return [dict(entry) for entry in listing]
        return sorted(entry["name"] for entry in listing)

    def _cached_listing(self, path: str) -> list[dict[str, Any]] | None:
        """What ls(path) would say from the cache, or None when the cache cannot tell."""
        with contextlib.suppress(KeyError):
            return self.dircache[path]  # type: ignore[no-any-return]
        if not path:
            return None
        try:
            parent = self.dircache[self._parent(path)]
        except KeyError:
            return None
        files = [e for e in parent if e["name"] == path and e["type"] == "file"]
        if files:
            return files
        if any(e["name"] == path for e in parent):
            return None  # a directory whose own listing is not cached
        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)

    def info(self, path: str, refresh: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Size, type, mtime and checksum (the SHA-256 digest), plus nuid, metadata, headers."""
        path = self._strip_protocol(path)
        if not path:
            return self._dir("")
        bucket, key = self._split(path)
        if not key:
            self._store(bucket)
            return self._dir(bucket)
        if not refresh:
            with contextlib.suppress(KeyError):
                listing = self.dircache[self._parent(path)]
                found = [e for e in listing if e["name"] == path]
                if not found:
                    raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)
                files = [e for e in found if e["type"] == "file"]
                return dict((files or found)[0])
        store = self._store(bucket)
        try:
            return self._entry(bucket, store.get_info(key))
        except ObjectNotFoundError:
            pass
        listings = self._list_bucket(bucket)
        if path in listings:
            return self._dir(path)
        raise FileNotFoundError(errno.ENOENT, "no such object or directory", path)


def _listing_dir(bucket: str, name: str) -> str:
    """The directory whose listing shows object `name`.

    A name with an empty segment ("/x", "a//b", "a/") shows as a file in the directory before
    that segment, so that no synthesized directory has a name fsspec would normalize away.
    """
    parts = name.split("/")
    if "" in parts:
        parts = [*parts[: parts.index("")], ""]
    return "/".join([bucket, *parts[:-1]])
