"""Authentication, TLS and permissions end to end, against nats-servers configured for them.

Every server here is a single EmbeddedServer on 127.0.0.1. Credentials are made in the test: nkeys
and JWTs with the `nkeys` package, certificates with the `openssl` command. A refused client must
get a natsobj error quickly, never hang.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats
import nkeys
import pytest

import natsobj
from natsobj import server as server_mod
from natsobj.server import EmbeddedServer

T = TypeVar("T")

REFUSE_WITHIN = 3.0
"""A refused connection must fail within this many seconds."""
DENY_WITHIN = 2.0
"""A permission violation must fail the operation within this many seconds."""
CAP = 6.0


class Hung(Exception):
    """The awaited call was still running when its cap fired."""


async def capped(seconds: float, call: Awaitable[T], *, grace: float = 5.0) -> T:
    """Await `call`; raise Hung if it runs past `seconds` (asyncio.wait, not wait_for).

    A cancelled put still rolls back (it purges its chunks), so wait up to `grace` seconds for
    that; a rollback that takes longer ends when its connection closes.
    """
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task not in done:
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
        # A cancelled natsobj call can leave a nats-py request task behind (JetStream._guarded
        # does not cancel it); retrieve its eventual error so nothing logs it at exit.
        for left in asyncio.all_tasks() - before - {asyncio.current_task()}:
            left.add_done_callback(_retrieve)
        task.add_done_callback(_retrieve)  # scheduled at once if it is already done
        raise Hung(f"still running after {seconds:g} s")
    return task.result()


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def roundtrip(client: natsobj.Client) -> None:
    """Create a bucket, put, get and delete: the connection can do real work."""
    bucket = "sec" + uuid.uuid4().hex[:10]
    store = await client.create_object_store(bucket)
    try:
        await store.put("hello.txt", b"hello, secure world")
        assert await store.get("hello.txt") == b"hello, secure world"
    finally:
        await client.delete_object_store(bucket)


async def connect_and_roundtrip(*args: Any, **kwargs: Any) -> None:
    client = await capped(CAP, natsobj.connect(*args, **kwargs))
    try:
        await capped(CAP, roundtrip(client))
    finally:
        await client.close()


async def assert_refused(*args: Any, **kwargs: Any) -> None:
    """natsobj.connect(*args, **kwargs) fails fast with a natsobj error."""
    started = time.monotonic()
    try:
        client = await capped(CAP, natsobj.connect(*args, **kwargs))
    except Hung:
        pytest.fail(f"natsobj.connect() was still trying after {CAP:g} s: it hangs")
    except natsobj.ObjectStoreError as exc:
        elapsed = time.monotonic() - started
        assert isinstance(exc, (natsobj.ConnectionLostError, natsobj.PermissionDeniedError)) or (
            type(exc) is natsobj.ObjectStoreError
        ), repr(exc)
        assert elapsed < REFUSE_WITHIN, f"refused only after {elapsed:.1f} s"
        return
    await client.close()
    pytest.fail("the connection was accepted")


def start_server(**kwargs: Any) -> Iterator[EmbeddedServer]:
    srv = EmbeddedServer(**kwargs)
    srv.start_sync()
    try:
        yield srv
    finally:
        srv.stop_sync()


# ---------------------------------------------------------------------------------------------
# token, user/password


@pytest.fixture(scope="module")
def token_server() -> Iterator[EmbeddedServer]:
    yield from start_server(token="s3cr3t-" + uuid.uuid4().hex)


async def test_token_auth_accepts_the_right_token(token_server: EmbeddedServer) -> None:
    await connect_and_roundtrip(token_server.url, token=token_server.token)


@pytest.mark.parametrize("token", ["wrong-token", None], ids=["wrong", "missing"])
async def test_token_auth_refuses_a_wrong_or_missing_token(
    token_server: EmbeddedServer, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NATS_TOKEN", raising=False)
    await assert_refused(token_server.url, token=token)


USERS_CONFIG = """
authorization {
  users = [
    {user: "alice", password: "correct horse battery staple"}
  ]
}
"""


@pytest.fixture(scope="module")
def user_server() -> Iterator[EmbeddedServer]:
    yield from start_server(extra_config=USERS_CONFIG)


async def test_user_password_auth_accepts_a_valid_user(user_server: EmbeddedServer) -> None:
    await connect_and_roundtrip(
        user_server.url, user="alice", password="correct horse battery staple"
    )


async def test_user_password_auth_refuses_a_wrong_password(user_server: EmbeddedServer) -> None:
    await assert_refused(user_server.url, user="alice", password="wrong")


# ---------------------------------------------------------------------------------------------
# nkeys


def new_keypair(prefix: int) -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(os.urandom(32), prefix))


def write_private(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@dataclass
class NkeyServer:
    server: EmbeddedServer
    seed_file: Path


@pytest.fixture(scope="module")
def nkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NkeyServer]:
    user = new_keypair(nkeys.PREFIX_BYTE_USER)
    seed = write_private(tmp_path_factory.mktemp("nkey") / "user.nk", user.seed.decode() + "\n")
    config = f"authorization {{\n  users = [{{nkey: {user.public_key.decode()}}}]\n}}\n"
    for srv in start_server(extra_config=config):
        yield NkeyServer(srv, seed)


async def test_nkey_auth_with_a_seed_file(nkey_server: NkeyServer) -> None:
    await connect_and_roundtrip(nkey_server.server.url, nkey=str(nkey_server.seed_file))


async def test_nkey_auth_refuses_an_unknown_nkey(nkey_server: NkeyServer, tmp_path: Path) -> None:
    stranger = new_keypair(nkeys.PREFIX_BYTE_USER)
    seed = write_private(tmp_path / "stranger.nk", stranger.seed.decode() + "\n")
    await assert_refused(nkey_server.server.url, nkey=str(seed))


# ---------------------------------------------------------------------------------------------
# creds (JWT): operator -> account -> user, signed with nkeys, no nsc needed


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(issuer: nkeys.KeyPair, subject: str, name: str, nats_claims: dict[str, Any]) -> str:
    """A NATS JWT (v2): base64url JSON header and claims, signed with the issuer's ed25519 nkey."""
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "iss": issuer.public_key.decode(),
        "name": name,
        "sub": subject,
        "nats": {**nats_claims, "version": 2},
    }
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    header = _b64url(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    body = _b64url(json.dumps(claims).encode())
    signature = issuer.sign(f"{header}.{body}".encode())
    return f"{header}.{body}.{_b64url(signature)}"


UNLIMITED = {
    "subs": -1,
    "data": -1,
    "payload": -1,
    "imports": -1,
    "exports": -1,
    "wildcards": True,
    "conn": -1,
    "leaf": -1,
}
JETSTREAM_UNLIMITED = {"mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1}


@dataclass
class Operator:
    """An operator with a system account and one JetStream-enabled account."""

    operator: nkeys.KeyPair
    system: nkeys.KeyPair
    account: nkeys.KeyPair

    def server_config(self) -> str:
        op_jwt = make_jwt(
            self.operator,
            self.operator.public_key.decode(),
            "test-operator",
            {"type": "operator", "system_account": self.system.public_key.decode()},
        )
        sys_jwt = make_jwt(
            self.operator,
            self.system.public_key.decode(),
            "SYS",
            {"type": "account", "limits": UNLIMITED},
        )
        acc_jwt = make_jwt(
            self.operator,
            self.account.public_key.decode(),
            "app",
            {"type": "account", "limits": {**UNLIMITED, **JETSTREAM_UNLIMITED}},
        )
        return (
            f"operator: {op_jwt}\n"
            f"system_account: {self.system.public_key.decode()}\n"
            "resolver: MEMORY\n"
            "resolver_preload: {\n"
            f"  {self.system.public_key.decode()}: {sys_jwt}\n"
            f"  {self.account.public_key.decode()}: {acc_jwt}\n"
            "}\n"
        )

    def user(self, account: nkeys.KeyPair | None = None) -> tuple[str, nkeys.KeyPair]:
        """A user JWT (issued by `account`, default the app account) and the user's keys."""
        user = new_keypair(nkeys.PREFIX_BYTE_USER)
        claims = {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}
        return make_jwt(account or self.account, user.public_key.decode(), "u", claims), user


def creds_text(user_jwt: str, user: nkeys.KeyPair) -> str:
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user.seed.decode()}\n"
        "------END USER NKEY SEED------\n"
    )


@dataclass
class JwtServer:
    server: EmbeddedServer
    operator: Operator


@pytest.fixture(scope="module")
def jwt_server() -> Iterator[JwtServer]:
    operator = Operator(
        operator=new_keypair(nkeys.PREFIX_BYTE_OPERATOR),
        system=new_keypair(nkeys.PREFIX_BYTE_ACCOUNT),
        account=new_keypair(nkeys.PREFIX_BYTE_ACCOUNT),
    )
    for srv in start_server(extra_config=operator.server_config()):
        yield JwtServer(srv, operator)


async def test_creds_file_auth_with_jwts_made_by_the_test(
    jwt_server: JwtServer, tmp_path: Path
) -> None:
    user_jwt, user = jwt_server.operator.user()
    creds = write_private(tmp_path / "user.creds", creds_text(user_jwt, user))
    await connect_and_roundtrip(jwt_server.server.url, creds=str(creds))


async def test_user_jwt_and_seed_auth(jwt_server: JwtServer) -> None:
    user_jwt, user = jwt_server.operator.user()
    await connect_and_roundtrip(
        jwt_server.server.url, user_jwt=user_jwt, user_seed=user.seed.decode()
    )


async def test_creds_signed_by_an_untrusted_account_are_refused(
    jwt_server: JwtServer, tmp_path: Path
) -> None:
    rogue = new_keypair(nkeys.PREFIX_BYTE_ACCOUNT)
    user_jwt, user = jwt_server.operator.user(account=rogue)
    creds = write_private(tmp_path / "rogue.creds", creds_text(user_jwt, user))
    await assert_refused(jwt_server.server.url, creds=str(creds))


# ---------------------------------------------------------------------------------------------
# TLS


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA: (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 and localhost, signed by `ca`: (certificate, key)."""
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext),
        cwd=directory,
    )  # fmt: skip
    return cert, key


@dataclass
class TlsServer:
    server: EmbeddedServer
    ca: Path
    other_ca: Path

    @property
    def url(self) -> str:
        return f"tls://127.0.0.1:{self.server.port}"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make test certificates")
    directory = tmp_path_factory.mktemp("tls")
    ca = make_ca(directory, "natsobj-test-ca")
    other_ca, _ = make_ca(directory, "some-other-ca")
    cert, key = make_server_cert(directory, ca)
    config = (
        f"tls {{\n  cert_file: {json.dumps(str(cert))}\n"
        f"  key_file: {json.dumps(str(key))}\n  timeout: 2\n}}\n"
    )
    for srv in start_server(extra_config=config):
        yield TlsServer(srv, ca[0], other_ca)


async def test_tls_client_trusting_the_test_ca_connects(tls_server: TlsServer) -> None:
    await connect_and_roundtrip(tls_server.url, tls_ca=str(tls_server.ca))


async def test_tls_client_trusting_another_ca_is_refused(tls_server: TlsServer) -> None:
    await assert_refused(tls_server.url, tls_ca=str(tls_server.other_ca))


async def test_plain_text_client_is_refused_by_a_tls_server(tls_server: TlsServer) -> None:
    await assert_refused(f"nats://127.0.0.1:{tls_server.server.port}")


async def test_tls_server_never_talks_plain_text(tls_server: TlsServer) -> None:
    """Without TLS nothing gets through: nats-py itself, told not to retry, is refused fast."""
    started = time.monotonic()
    with pytest.raises(Exception) as caught:  # nats-py raises several types here
        await capped(
            CAP,
            nats.connect(
                f"nats://127.0.0.1:{tls_server.server.port}",
                allow_reconnect=False,
                connect_timeout=2,
            ),
        )
    assert not isinstance(caught.value, Hung)
    assert time.monotonic() - started < REFUSE_WITHIN


# ---------------------------------------------------------------------------------------------
# permissions: a user limited to bucket A

# The least a user needs to read and write bucket A (and nothing else): stream info to bind,
# direct get (both forms) to read metas and chunks, publish on $O.A.> to write, purge to clean
# up after a failed put or a delete; replies come back on _INBOX.>.
PERMISSIONS_CONFIG = """
authorization {
  users = [
    {user: "admin", password: "admin"}
    {user: "only_a", password: "only_a", permissions: {
      publish: {allow: [
        "$JS.API.STREAM.INFO.OBJ_A", "$JS.API.STREAM.PURGE.OBJ_A",
        "$JS.API.DIRECT.GET.OBJ_A", "$JS.API.DIRECT.GET.OBJ_A.>", "$O.A.>"
      ]}
      subscribe: {allow: ["_INBOX.>"]}
    }}
    {user: "reader_a", password: "reader_a", permissions: {
      publish: {allow: [
        "$JS.API.STREAM.INFO.OBJ_A", "$JS.API.DIRECT.GET.OBJ_A", "$JS.API.DIRECT.GET.OBJ_A.>"
      ]}
      subscribe: {allow: ["_INBOX.>"]}
    }}
  ]
}
"""


@pytest.fixture(scope="module")
def perm_server() -> Iterator[EmbeddedServer]:
    yield from start_server(extra_config=PERMISSIONS_CONFIG)


@pytest.fixture
async def buckets_a_and_b(perm_server: EmbeddedServer) -> AsyncIterator[natsobj.Client]:
    admin = await capped(CAP, natsobj.connect(perm_server.url, user="admin", password="admin"))
    try:
        for bucket in ("A", "B"):
            with contextlib.suppress(natsobj.BucketNotFoundError):
                await admin.delete_object_store(bucket)
            store = await admin.create_object_store(bucket)
            await store.put("seed.txt", f"in {bucket}".encode())
        yield admin
    finally:
        await admin.close()


@pytest.fixture
async def only_a(
    perm_server: EmbeddedServer, buckets_a_and_b: natsobj.Client
) -> AsyncIterator[natsobj.Client]:
    client = await capped(CAP, natsobj.connect(perm_server.url, user="only_a", password="only_a"))
    try:
        yield client
    finally:
        await client.close()


async def denied_fast(call: Awaitable[Any]) -> float:
    """Assert `call` raises PermissionDeniedError within DENY_WITHIN; return the seconds."""
    started = time.monotonic()
    with pytest.raises(natsobj.PermissionDeniedError):
        await capped(DENY_WITHIN + 1.0, call, grace=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < DENY_WITHIN, f"denied only after {elapsed:.2f} s"
    return elapsed


async def test_user_limited_to_bucket_a_can_use_bucket_a(only_a: natsobj.Client) -> None:
    store = await capped(CAP, only_a.object_store("A"))
    await capped(CAP, store.put("mine.txt", b"allowed"))
    assert await capped(CAP, store.get("mine.txt")) == b"allowed"
    assert await capped(CAP, store.get("seed.txt")) == b"in A"
    names = [info.name for info in await capped(CAP, store.list())]
    assert names == ["mine.txt", "seed.txt"]
    await capped(CAP, store.delete("mine.txt"))
    with pytest.raises(natsobj.ObjectNotFoundError):
        await capped(CAP, store.get_info("mine.txt"))


async def test_reads_by_a_user_without_consumer_rights_are_not_delayed(
    only_a: natsobj.Client,
) -> None:
    store = await capped(CAP, only_a.object_store("A"))
    started = time.monotonic()
    assert await capped(CAP, store.get("seed.txt")) == b"in A"
    assert [i.name for i in await capped(CAP, store.list())] == ["seed.txt"]
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"a get and a list took {elapsed:.2f} s"


async def test_binding_bucket_b_is_denied_at_once(only_a: natsobj.Client) -> None:
    await denied_fast(only_a.object_store("B"))


async def test_reading_and_writing_bucket_b_are_denied_at_once(only_a: natsobj.Client) -> None:
    # A handle made without binding (as a caller holding stale info would have).
    store_b = natsobj.ObjectStore(only_a, "B", {})
    await denied_fast(store_b.get_info("seed.txt"))
    await denied_fast(store_b.get("seed.txt"))
    await denied_fast(store_b.list())
    await denied_fast(store_b.put("intruder.txt", b"nope"))
    await denied_fast(store_b.delete("seed.txt"))
    # Nothing changed in B, and the connection still works for A.
    store_a = await capped(CAP, only_a.object_store("A"))
    assert await capped(CAP, store_a.get("seed.txt")) == b"in A"


async def test_bucket_b_is_untouched_by_denied_writes(
    only_a: natsobj.Client, buckets_a_and_b: natsobj.Client
) -> None:
    store_b = natsobj.ObjectStore(only_a, "B", {})
    # However (and however late) the denial surfaces, nothing may land in B.
    with contextlib.suppress(natsobj.ObjectStoreError, Hung):
        await capped(4.0, store_b.put("intruder.txt", b"nope" * 100_000), grace=1.0)
    with contextlib.suppress(natsobj.ObjectStoreError, Hung):
        await capped(4.0, store_b.delete("seed.txt"), grace=1.0)
    admin_b = await buckets_a_and_b.object_store("B")
    assert [info.name for info in await admin_b.list()] == ["seed.txt"]
    assert await admin_b.get("seed.txt") == b"in B"
    assert await admin_b.orphan_chunk_subjects() == {}


async def test_put_many_by_a_user_of_another_bucket_is_denied_at_once(
    only_a: natsobj.Client, buckets_a_and_b: natsobj.Client
) -> None:
    store_b = natsobj.ObjectStore(only_a, "B", {})
    await denied_fast(store_b.put_many({f"n{i}": b"x" * i for i in range(100)}))
    admin_b = await buckets_a_and_b.object_store("B")
    assert [info.name for info in await admin_b.list()] == ["seed.txt"]
    assert await admin_b.orphan_chunk_subjects() == {}


async def test_put_by_a_read_only_user_is_denied_at_once(
    perm_server: EmbeddedServer, buckets_a_and_b: natsobj.Client
) -> None:
    reader = await capped(
        CAP, natsobj.connect(perm_server.url, user="reader_a", password="reader_a")
    )
    try:
        store = await capped(CAP, reader.object_store("A"))
        assert await capped(CAP, store.get("seed.txt")) == b"in A"
        await denied_fast(store.put("new.txt", b"x" * 1000))
    finally:
        await reader.close()


# ---------------------------------------------------------------------------------------------
# the embedded default server


@pytest.fixture
def default_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """NATSOBJ_HOME in a temp dir, no NATS_* environment and no natscli context."""
    home = tmp_path / "natsobj-home"
    monkeypatch.setenv("NATSOBJ_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for var in ("NATS_URL", "NATS_CONTEXT", "NATS_TOKEN", "NATS_USER", "NATS_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield home
    finally:
        server_mod.stop_default_server()


def _non_loopback_address() -> str | None:
    """An IPv4 address of this host that is not loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent for a UDP connect
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


async def test_default_server_is_loopback_only_token_protected_and_private(
    default_home: Path,
) -> None:
    info = await asyncio.to_thread(server_mod.ensure_default_server)
    assert info.url.startswith("nats://127.0.0.1:")
    assert len(info.token) >= 32

    record = json.loads((default_home / "server.json").read_text())
    for path in (default_home / "server.json", default_home / "nats-server.conf"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(default_home.stat().st_mode) == 0o700

    with urllib.request.urlopen(f"http://127.0.0.1:{record['http_port']}/varz", timeout=5) as resp:
        varz = json.loads(resp.read())
    assert varz["host"] == "127.0.0.1"
    assert varz["http_host"] == "127.0.0.1"
    assert varz["auth_required"] is True

    outside = _non_loopback_address()
    if outside is not None:
        with pytest.raises(OSError):
            socket.create_connection((outside, info.port), timeout=2).close()

    # No token: refused at once (nats-py told not to retry, so the server's answer shows).
    started = time.monotonic()
    with pytest.raises(nats.errors.Error, match="Authorization"):
        await capped(CAP, nats.connect(info.url, allow_reconnect=False, connect_timeout=2))
    assert time.monotonic() - started < REFUSE_WITHIN

    # natsobj.connect() with nothing configured finds it and presents the token.
    client = await capped(CAP, natsobj.connect())
    try:
        await capped(CAP, roundtrip(client))
    finally:
        await client.close()


async def test_default_server_refuses_natsobj_without_its_token(default_home: Path) -> None:
    info = await asyncio.to_thread(server_mod.ensure_default_server)
    await assert_refused(info.url)
