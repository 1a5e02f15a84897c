"""Connection options: flags > NATS_* env vars > natscli context, and the mapping onto nats-py."""

from __future__ import annotations

import base64
import inspect
import json
import os
import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import pytest
from nats.aio.client import Client

from natsobj._options import (
    ConnectOptions,
    parse_timeout,
    resolve_connect_options,
    to_jetstream_kwargs,
    to_nats_connect_kwargs,
)

CREDS_TEXT = "-----BEGIN NATS USER JWT-----\neyJ0eXAi.fake.jwt\n------END NATS USER JWT------\n"


def write_context(home: Path, name: str, **settings: object) -> Path:
    path = home / "nats" / "context" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    return path


def select_context(home: Path, name: str) -> None:
    (home / "nats").mkdir(parents=True, exist_ok=True)
    (home / "nats" / "context.txt").write_text(name + "\n")


def resolve(home: Path, env: dict[str, str] | None = None, **kwargs: object) -> ConnectOptions:
    return resolve_connect_options(env=env or {}, config_home=home, **kwargs)  # type: ignore[arg-type]


def user_seed() -> str:
    nkeys = pytest.importorskip("nkeys")
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()


# --- servers -----------------------------------------------------------------------------------


def test_nothing_configured_means_default_with_no_servers(tmp_path: Path) -> None:
    opts = resolve(tmp_path)
    assert opts.servers == []
    assert opts.source == "default"
    assert opts.context_name is None
    assert "servers" not in to_nats_connect_kwargs(opts)


def test_flag_url_beats_env_and_context(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://ctx:4222")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path, {"NATS_URL": "nats://env:4222"}, servers="nats://flag:4222")
    assert (opts.servers, opts.source) == (["nats://flag:4222"], "flag")


def test_env_url_beats_context(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://ctx:4222")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path, {"NATS_URL": "nats://env:4222"})
    assert (opts.servers, opts.source) == (["nats://env:4222"], "env")
    assert opts.context_name == "a"


def test_context_url_is_used_and_split_on_commas(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://one:4222, nats://two:4222")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path)
    assert opts.servers == ["nats://one:4222", "nats://two:4222"]
    assert opts.source == "context:a"


def test_context_without_url_uses_natscli_default(tmp_path: Path) -> None:
    write_context(tmp_path, "a", user="bob")
    opts = resolve(tmp_path, context="a")
    assert (opts.servers, opts.source) == (["nats://localhost:4222"], "context:a")


def test_servers_string_and_list_are_split(tmp_path: Path) -> None:
    assert resolve(tmp_path, servers="a:1,b:2").servers == ["a:1", "b:2"]
    assert resolve(tmp_path, servers=["a:1,b:2", "c:3"]).servers == ["a:1", "b:2", "c:3"]


def test_empty_env_var_counts_as_unset(tmp_path: Path) -> None:
    assert resolve(tmp_path, {"NATS_URL": ""}).source == "default"


# --- context selection -------------------------------------------------------------------------


def test_context_txt_selects_the_context(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://a:4222")
    write_context(tmp_path, "b", url="nats://b:4222")
    select_context(tmp_path, "b")
    opts = resolve(tmp_path)
    assert opts.context_name == "b"
    assert opts.servers == ["nats://b:4222"]


def test_nats_context_env_beats_context_txt(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://a:4222")
    write_context(tmp_path, "b", url="nats://b:4222")
    select_context(tmp_path, "b")
    assert resolve(tmp_path, {"NATS_CONTEXT": "a"}).context_name == "a"


def test_context_argument_beats_nats_context_env(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://a:4222")
    write_context(tmp_path, "b", url="nats://b:4222")
    assert resolve(tmp_path, {"NATS_CONTEXT": "a"}, context="b").context_name == "b"


def test_no_context_ignores_the_selected_context(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://a:4222", token="t")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path, {"NATS_CONTEXT": "a"}, no_context=True)
    assert (opts.servers, opts.source, opts.token, opts.context_name) == ([], "default", None, None)


def test_context_and_no_context_together_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="together"):
        resolve(tmp_path, context="a", no_context=True)


def test_missing_context_error_lists_available_names(tmp_path: Path) -> None:
    write_context(tmp_path, "dev")
    write_context(tmp_path, "prod")
    with pytest.raises(ValueError, match="unknown NATS context 'nope'") as exc:
        resolve(tmp_path, context="nope")
    assert "dev, prod" in str(exc.value)


def test_missing_context_from_nats_context_env_is_an_error(tmp_path: Path) -> None:
    write_context(tmp_path, "dev")
    with pytest.raises(ValueError, match=r"NATS_CONTEXT.*dev"):
        resolve(tmp_path, {"NATS_CONTEXT": "gone"})


def test_stale_context_txt_is_an_error_naming_the_file(tmp_path: Path) -> None:
    select_context(tmp_path, "gone")
    with pytest.raises(ValueError, match=r"context\.txt"):
        resolve(tmp_path)


def test_context_name_cannot_escape_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid NATS context name"):
        resolve(tmp_path, context="../secrets")


def test_config_home_defaults_to_xdg_config_home(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://xdg:4222")
    opts = resolve_connect_options(env={"XDG_CONFIG_HOME": str(tmp_path), "NATS_CONTEXT": "a"})
    assert opts.servers == ["nats://xdg:4222"]


def test_invalid_context_json_is_a_clear_error(tmp_path: Path) -> None:
    path = write_context(tmp_path, "a")
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        resolve(tmp_path, context="a")


def test_nsc_lookup_is_rejected_clearly(tmp_path: Path) -> None:
    write_context(tmp_path, "a", nsc="nsc://op/acc/user")
    with pytest.raises(ValueError, match="'nsc' lookup"):
        resolve(tmp_path, context="a")


# --- credentials: precedence -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "env_var", "ctx_key"),
    [
        ("user", "NATS_USER", "user"),
        ("password", "NATS_PASSWORD", "password"),
        ("token", "NATS_TOKEN", "token"),
        ("tls_cert", "NATS_CERT", "cert"),
        ("tls_key", "NATS_KEY", "key"),
        ("tls_ca", "NATS_CA", "ca"),
    ],
)
def test_credential_precedence_flag_env_context(
    tmp_path: Path, field: str, env_var: str, ctx_key: str
) -> None:
    write_context(tmp_path, "a", **{ctx_key: "/from/context"})
    select_context(tmp_path, "a")
    env = {env_var: "/from/env"}
    assert getattr(resolve(tmp_path, env, **{field: "/from/flag"}), field) == "/from/flag"
    assert getattr(resolve(tmp_path, env), field) == "/from/env"
    assert getattr(resolve(tmp_path), field) == "/from/context"


@pytest.mark.parametrize(("field", "env_var"), [("creds", "NATS_CREDS"), ("nkey", "NATS_NKEY")])
def test_signing_file_precedence_flag_env_context(tmp_path: Path, field: str, env_var: str) -> None:
    write_context(tmp_path, "a", **{field: "/ctx/file"})
    select_context(tmp_path, "a")
    env = {env_var: "/env/file"}
    assert getattr(resolve(tmp_path, env, **{field: "/flag/file"}), field) == "/flag/file"
    assert getattr(resolve(tmp_path, env), field) == "/env/file"
    assert getattr(resolve(tmp_path), field) == "/ctx/file"


def test_user_jwt_and_seed_precedence(tmp_path: Path) -> None:
    write_context(tmp_path, "a", user_jwt="ctx.jwt", user_seed="SUCTX")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path, {"NATS_JWT": "env.jwt", "NATS_SEED": "SUENV"})
    assert (opts.user_jwt, opts.user_seed) == ("env.jwt", "SUENV")
    assert resolve(tmp_path).user_jwt == "ctx.jwt"


def test_fields_are_resolved_independently_across_layers(tmp_path: Path) -> None:
    write_context(tmp_path, "a", url="nats://ctx:4222", user="ctxuser", password="ctxpass")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path, {"NATS_PASSWORD": "envpass"}, servers="nats://flag:4222")
    assert (opts.servers, opts.user, opts.password) == (["nats://flag:4222"], "ctxuser", "envpass")


def test_higher_layer_signing_credential_replaces_lower_one(tmp_path: Path) -> None:
    write_context(tmp_path, "a", nkey="/ctx/user.nk")
    select_context(tmp_path, "a")
    opts = resolve(tmp_path, creds="/flag/user.creds")
    assert (opts.creds, opts.nkey) == ("/flag/user.creds", None)


def test_two_signing_credentials_in_one_layer_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="more than one signing credential"):
        resolve(tmp_path, creds="/a.creds", nkey="/a.nk")


def test_context_jetstream_and_inbox_settings(tmp_path: Path) -> None:
    write_context(
        tmp_path,
        "a",
        jetstream_domain="hub",
        jetstream_api_prefix="$JS.x.API.",
        inbox_prefix="_MY_INBOX",
        tls_first=True,
        description="ignored",
    )
    opts = resolve(tmp_path, context="a")
    assert opts.jetstream_domain == "hub"
    assert opts.jetstream_api_prefix == "$JS.x.API."
    assert (opts.inbox_prefix, opts.tls_first) == ("_MY_INBOX", True)
    assert to_jetstream_kwargs(opts) == {"domain": "hub", "prefix": "$JS.x.API"}
    assert resolve(tmp_path, context="a", tls_first=False).tls_first is False


# --- paths and URIs ----------------------------------------------------------------------------


def test_tilde_and_env_vars_are_expanded_in_paths(tmp_path: Path) -> None:
    write_context(
        tmp_path,
        "a",
        creds="~/keys/u.creds",
        cert="$CERTS/c.pem",
        key="${CERTS}/k.pem",
        ca="$UNSET_VAR/ca.pem",
    )
    opts = resolve(tmp_path, {"HOME": "/home/me", "CERTS": "/etc/certs"}, context="a")
    assert opts.creds == "/home/me/keys/u.creds"
    assert (opts.tls_cert, opts.tls_key) == ("/etc/certs/c.pem", "/etc/certs/k.pem")
    assert opts.tls_ca == "/ca.pem"  # unset variables expand to "" as in natscli


def test_file_uri_is_a_path(tmp_path: Path) -> None:
    env = {"HOME": "/home/me"}
    assert resolve(tmp_path, env, creds="file://~/u.creds").creds == "/home/me/u.creds"
    assert resolve(tmp_path, env, nkey="file:///keys/u.nk").nkey == "/keys/u.nk"


def test_file_uri_for_a_secret_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("filetoken\n")
    assert resolve(tmp_path, token=f"file://{tmp_path}/token.txt").token == "filetoken"


def test_env_uri_creds_becomes_private_file(tmp_path: Path) -> None:
    opts = resolve(tmp_path, {"CREDS_DATA": CREDS_TEXT}, creds="env://CREDS_DATA")
    assert opts.creds is not None
    assert Path(opts.creds).read_text() == CREDS_TEXT
    assert stat.S_IMODE(os.stat(opts.creds).st_mode) == 0o600


def test_data_uri_nkey_becomes_private_file(tmp_path: Path) -> None:
    uri = "data:;base64," + base64.b64encode(b"SUAFAKESEED").decode()
    write_context(tmp_path, "a", nkey=uri)
    opts = resolve(tmp_path, context="a")
    assert opts.nkey is not None
    assert Path(opts.nkey).read_bytes() == b"SUAFAKESEED"
    assert stat.S_IMODE(os.stat(opts.nkey).st_mode) == 0o600


def test_data_and_env_uris_stay_inline_for_token_and_password(tmp_path: Path) -> None:
    uri = "data:application/octet-stream;base64," + base64.b64encode(b"s3cret\n").decode()
    opts = resolve(tmp_path, {"PW": "hunter2"}, token=uri, password="env://PW")
    assert (opts.token, opts.password) == ("s3cret", "hunter2")


def test_literal_secret_with_colon_is_kept(tmp_path: Path) -> None:
    assert resolve(tmp_path, password="a:b://c").password == "a:b://c"


@pytest.mark.parametrize("uri", ["op://vault/item/creds", "nsc://op/acc/user"])
@pytest.mark.parametrize("field", ["creds", "token"])
def test_unsupported_uri_scheme_names_the_field(tmp_path: Path, uri: str, field: str) -> None:
    write_context(tmp_path, "a", **{field: uri})
    with pytest.raises(ValueError, match=rf"^{field} \(from context 'a'\): unsupported"):
        resolve(tmp_path, context="a")


def test_unknown_scheme_in_path_field_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"tls_ca.*'https://'"):
        resolve(tmp_path, tls_ca="https://example.com/ca.pem")


def test_env_uri_to_unset_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"creds \(from flag\).*NOPE is not set"):
        resolve(tmp_path, creds="env://NOPE")


def test_data_uri_must_be_base64(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="base64"):
        resolve(tmp_path, nkey="data:,plain")


def test_unused_lower_layer_uri_is_not_resolved(tmp_path: Path) -> None:
    write_context(tmp_path, "a", token="op://vault/token")
    assert resolve(tmp_path, context="a", token="flagtoken").token == "flagtoken"


# --- timeout -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5s", 5.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        ("10", 10.0),
        ("0.25", 0.25),
    ],
)
def test_timeout_parsing(text: str, seconds: float) -> None:
    assert parse_timeout(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 s", "5x", "s", "-1s", "0", "abc", "5s junk"])
def test_bad_timeouts_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="invalid timeout"):
        parse_timeout(text)


def test_timeout_precedence_and_default(tmp_path: Path) -> None:
    assert resolve(tmp_path).timeout == 5.0
    assert resolve(tmp_path, {"NATS_TIMEOUT": "2s"}).timeout == 2.0
    assert resolve(tmp_path, {"NATS_TIMEOUT": "2s"}, timeout=7).timeout == 7.0


def test_bad_nats_timeout_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^NATS_TIMEOUT: invalid timeout"):
        resolve(tmp_path, {"NATS_TIMEOUT": "soon"})


# --- nats-py mapping ---------------------------------------------------------------------------


def test_kwargs_include_only_what_is_set() -> None:
    assert to_nats_connect_kwargs(ConnectOptions()) == {"connect_timeout": 5.0}


def test_kwargs_mapping_is_accepted_by_nats_py(tmp_path: Path) -> None:
    opts = resolve(
        tmp_path,
        servers="nats://a:4222",
        user="u",
        password="p",
        token="t",
        creds="/u.creds",
        inbox_prefix="_IN",
        connection_name="natsobj",
        tls_first=True,
        timeout="3s",
    )
    kwargs = to_nats_connect_kwargs(opts)
    assert kwargs == {
        "servers": ["nats://a:4222"],
        "user": "u",
        "password": "p",
        "token": "t",
        "user_credentials": "/u.creds",
        "tls_handshake_first": True,
        "inbox_prefix": "_IN",
        "name": "natsobj",
        "connect_timeout": 3.0,
    }
    inspect.signature(Client.connect).bind(Client(), **kwargs)


def test_nkey_maps_to_nkeys_seed(tmp_path: Path) -> None:
    assert to_nats_connect_kwargs(resolve(tmp_path, nkey="/u.nk"))["nkeys_seed"] == "/u.nk"


def test_user_jwt_and_seed_map_to_callbacks(tmp_path: Path) -> None:
    nkeys = pytest.importorskip("nkeys")
    seed = user_seed()
    kwargs = to_nats_connect_kwargs(resolve(tmp_path, user_jwt="my.jwt", user_seed=seed))
    assert kwargs["user_jwt_cb"]() == b"my.jwt"
    sig = base64.b64decode(kwargs["signature_cb"]("nonce123"))
    assert nkeys.from_seed(bytearray(seed.encode())).verify(b"nonce123", sig)
    inspect.signature(Client.connect).bind(Client(), **kwargs)


def test_user_jwt_without_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="together"):
        to_nats_connect_kwargs(ConnectOptions(user_jwt="my.jwt"))


def test_invalid_user_seed_is_rejected() -> None:
    pytest.importorskip("nkeys")
    with pytest.raises(ValueError, match="not a valid NATS nkey seed"):
        to_nats_connect_kwargs(ConnectOptions(user_jwt="j", user_seed="SUNOTASEED"))


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key, usable as CA and as client certificate."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=natsobj-test-ca",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_tls_files_become_an_ssl_context(tmp_path: Path, tls_files: tuple[Path, Path]) -> None:
    cert, key = tls_files
    opts = resolve(tmp_path, tls_cert=str(cert), tls_key=str(key), tls_ca=str(cert))
    tls = to_nats_connect_kwargs(opts)["tls"]
    assert isinstance(tls, ssl.SSLContext)
    assert tls.verify_mode == ssl.CERT_REQUIRED
    subjects = [dict(rdn[0] for rdn in ca["subject"]) for ca in tls.get_ca_certs()]
    assert {"commonName": "natsobj-test-ca"} in subjects


def test_tls_key_that_does_not_match_cert_is_rejected(
    tmp_path: Path, tls_files: tuple[Path, Path]
) -> None:
    cert, _ = tls_files
    other = tmp_path / "other"
    other.mkdir()
    subprocess.run(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            str(other / "key.pem"),
        ],
        check=True,
        capture_output=True,
    )
    opts = resolve(tmp_path, tls_cert=str(cert), tls_key=str(other / "key.pem"))
    with pytest.raises(ValueError, match="cannot load TLS files"):
        to_nats_connect_kwargs(opts)


def test_tls_key_without_cert_is_rejected() -> None:
    with pytest.raises(ValueError, match="tls_key is set without tls_cert"):
        to_nats_connect_kwargs(ConnectOptions(tls_key="/k.pem"))


# --- repr --------------------------------------------------------------------------------------


def test_repr_masks_secrets() -> None:
    opts = ConnectOptions(
        servers=["nats://alice:pw1@h:4222", "nats://tok1@h2:4222", "h3:4222"],
        user="alice",
        password="pw2",
        token="tok2",
        user_jwt="jwt3",
        user_seed="SUSEED4",
    )
    text = repr(opts)
    for secret in ("pw1", "tok1", "pw2", "tok2", "jwt3", "SUSEED4"):
        assert secret not in text
    assert "user='alice'" in text
    assert "nats://alice:***@h:4222" in text
    assert "h3:4222" in text
