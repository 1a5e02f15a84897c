"""Blocking API: the async natsobj API driven on one private event-loop thread.

    import natsobj.sync
    with natsobj.sync.connect() as client:
        store = client.create_object_store("media")
        store.put("hello.txt", b"hello")
        print(store.get("hello.txt"))

Every call runs the async core's coroutine on a daemon thread that owns natsobj's event loop
(one per process, started on first use), so it works from scripts, from many threads at once,
and from code that already runs an event loop (a Jupyter cell). Nothing here re-implements a
rule of the format: each method delegates to the async method of the same name.
Callbacks (progress) run on natsobj's loop thread and must not call back into this API.

The methods are written by hand, not generated: each keeps a real signature and type hints that
an IDE or type checker sees without a stub file (one that would drift in turn), and a wrapper
is more than a call: blocking stores in and out, file objects from open(), an iterator with an
idle timeout from watch(), a time bound on request-sized calls. tests/test_sync_parity.py holds
the two APIs together: every public async method of Client and ObjectStore needs a twin here
with the same parameters, defaults and docstring (notes for the blocking API go after it), or
an entry with its reason in that test's allow-list.

The package's parts: _loop (the loop thread, run() and the shutdown at exit), _client
(connect() and Client), _store (ObjectStore), _files (ObjectReader, ObjectWriter) and _watch
(ObjectWatcher).
"""

# Re-exported: the public classes, and every other name of natsobj this module had when it was
# one file (code may have imported them from here).
from .. import IntegrityError as IntegrityError
from .. import ObjectInfo as ObjectInfo
from .. import ObjectMeta as ObjectMeta
from .. import ObjectStoreConfig as ObjectStoreConfig
from .. import ObjectStoreStatus as ObjectStoreStatus
from .. import StoreTimeoutError as StoreTimeoutError
from .. import TransferSettings as TransferSettings
from ._client import Client as Client
from ._client import connect as connect
from ._files import READ_AHEAD as READ_AHEAD
from ._files import WRITE_BUFFER as WRITE_BUFFER
from ._files import ObjectReader as ObjectReader
from ._files import ObjectWriter as ObjectWriter
from ._loop import CALL_TIMEOUT as CALL_TIMEOUT
from ._store import ObjectStore as ObjectStore
from ._store import ProgressCallback as ProgressCallback
from ._store import PutSource as PutSource
from ._watch import ObjectWatcher as ObjectWatcher

__all__ = ["Client", "ObjectReader", "ObjectStore", "ObjectWatcher", "ObjectWriter", "connect"]
