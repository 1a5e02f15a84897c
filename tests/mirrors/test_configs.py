"""Golden stream configs of mirrors, replicas and aggregates (shared/spec/mirrors.md §4, §7.1);
pure, no server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from natsobj import InvalidReplicationError, ObjectStoreConfig, Origin
from natsobj import _wire as wire
from natsobj.cli._render import stale_origins

COMMON = {
    "max_age": 0,
    "max_bytes": -1,
    "storage": "file",
    "num_replicas": 1,
    "discard": "new",
    "allow_rollup_hdrs": True,
    "allow_direct": True,
    "compression": "none",
    "mirror_direct": False,
}


def test_same_name_mirror_across_a_domain_is_config_a() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("A", mirror=Origin("A", domain="edge")))
    assert cfg == {
        "name": "OBJ_A",
        "mirror": {"name": "OBJ_A", "external": {"api": "$JS.edge.API"}},
        **COMMON,
    }


def test_renamed_mirror_across_a_domain_is_config_b() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("AH", mirror=Origin("A", domain="edge")))
    assert cfg == {
        "name": "OBJ_AH",
        "mirror": {
            "name": "OBJ_A",
            "external": {"api": "$JS.edge.API"},
            "subject_transforms": [{"src": "$O.A.>", "dest": "$O.AH.>"}],
        },
        **COMMON,
    }


def test_mirror_by_api_prefix_with_a_start_point() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    by_seq = wire.stream_config(
        ObjectStoreConfig("A", mirror=Origin("A", api_prefix="$JS.x.API.", start_seq=7))
    )
    assert by_seq["mirror"] == {
        "name": "OBJ_A",
        "external": {"api": "$JS.x.API"},
        "opt_start_seq": 7,
    }
    by_time = wire.stream_config(
        ObjectStoreConfig("A", mirror=Origin("A", domain="e", start_time=at))
    )
    assert by_time["mirror"]["opt_start_time"] == "2026-01-02T03:04:05Z"


def test_same_domain_renamed_mirror_is_a_one_source_replica_never_a_mirror() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("R", mirror=Origin("A")))
    assert cfg == {
        "name": "OBJ_R",
        "sources": [{"name": "OBJ_A", "subject_transforms": [{"src": "$O.A.>", "dest": "$O.R.>"}]}],
        **COMMON,
    }
    assert wire.kind_of(cfg) == "replica"
    assert wire.is_read_only(cfg)


def test_read_only_aggregate_of_two_domains_has_no_subjects() -> None:
    cfg = wire.stream_config(
        ObjectStoreConfig(
            "ALL", sources=(Origin("S1", domain="edge1"), Origin("S2", domain="edge2"))
        )
    )
    assert cfg == {
        "name": "OBJ_ALL",
        "sources": [
            {
                "name": "OBJ_S1",
                "external": {"api": "$JS.edge1.API"},
                "subject_transforms": [{"src": "$O.S1.>", "dest": "$O.ALL.>"}],
            },
            {
                "name": "OBJ_S2",
                "external": {"api": "$JS.edge2.API"},
                "subject_transforms": [{"src": "$O.S2.>", "dest": "$O.ALL.>"}],
            },
        ],
        **COMMON,
    }
    assert wire.kind_of(cfg) == "aggregate"
    assert wire.is_read_only(cfg)


def test_writable_aggregate_keeps_its_own_subjects_and_no_transform_for_its_own_name() -> None:
    cfg = wire.stream_config(
        ObjectStoreConfig("ALL", sources=(Origin("ALL", domain="edge1"),), writable=True)
    )
    assert cfg["subjects"] == ["$O.ALL.C.>", "$O.ALL.M.>"]
    assert cfg["sources"] == [{"name": "OBJ_ALL", "external": {"api": "$JS.edge1.API"}}]
    assert not wire.is_read_only(cfg)


@pytest.mark.parametrize(
    "config",
    [
        ObjectStoreConfig("A", mirror=Origin("A", domain="e")),
        ObjectStoreConfig("AH", mirror=Origin("A", domain="e")),
        ObjectStoreConfig("R", mirror=Origin("A")),
        ObjectStoreConfig("ALL", sources=(Origin("S1", domain="a"), Origin("S2", domain="b"))),
    ],
)
def test_copies_never_deny_purge_and_never_ask_for_mirror_direct(config: ObjectStoreConfig) -> None:
    cfg = wire.stream_config(config)
    assert cfg["allow_direct"] is True
    assert cfg["allow_rollup_hdrs"] is True
    assert cfg["mirror_direct"] is False
    assert "deny_purge" not in cfg and "deny_delete" not in cfg
    assert wire.copies_a_bucket(cfg)


@pytest.mark.parametrize(
    "config",
    [
        ObjectStoreConfig("A", mirror=Origin("A", domain="e")),
        ObjectStoreConfig("AH", mirror=Origin("A", api_prefix="OTHER.API")),
        ObjectStoreConfig("R", sources=(Origin("A"),)),
        ObjectStoreConfig("ALL", sources=(Origin("S1", domain="a"), Origin("S2", domain="b"))),
        ObjectStoreConfig("W", sources=(Origin("S1", domain="a"),), writable=True),
    ],
)
def test_copy_configs_round_trip(config: ObjectStoreConfig) -> None:
    assert wire.config_from_stream(wire.stream_config(config)) == config


def test_same_domain_mirror_of_itself_is_refused() -> None:
    with pytest.raises(InvalidReplicationError, match="cannot mirror itself"):
        wire.stream_config(ObjectStoreConfig("A", mirror=Origin("A")))


@pytest.mark.parametrize(
    "make",
    [
        lambda: Origin("A", domain="e", api_prefix="$JS.e.API"),
        lambda: Origin("A", start_seq=1, start_time=datetime.now(timezone.utc)),
        lambda: wire.stream_config(
            ObjectStoreConfig("B", mirror=Origin("A", domain="e"), sources=(Origin("C"),))
        ),
        lambda: wire.stream_config(
            ObjectStoreConfig("B", mirror=Origin("A", domain="e"), writable=True)
        ),
        lambda: wire.stream_config(
            ObjectStoreConfig("B", sources=(Origin("A", domain="e"), Origin("A", domain="e")))
        ),
    ],
)
def test_contradictory_replication_is_refused(make: object) -> None:
    with pytest.raises(InvalidReplicationError):
        make()  # type: ignore[operator]


def test_plain_bucket_config_is_unchanged() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("P"))
    assert cfg["subjects"] == ["$O.P.C.>", "$O.P.M.>"]
    assert "mirror" not in cfg and "sources" not in cfg and "mirror_direct" not in cfg
    assert wire.kind_of(cfg) is None and not wire.is_read_only(cfg)
    assert wire.read_only_reason("P", cfg) is None


def test_read_only_reason_names_the_origin_and_how_to_write_to_it() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("AH", mirror=Origin("A", domain="edge")))
    reason = wire.read_only_reason("AH", cfg)
    assert reason is not None
    assert "mirror of bucket 'A'" in reason and "domain 'edge'" in reason
    assert "--js-domain edge" in reason


def test_status_reports_stale_origins_and_warnings() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("AH", mirror=Origin("A", domain="edge")))
    info = {
        "config": {**cfg, "sealed": True, "allow_direct": False},
        "state": {},
        "mirror": {
            "name": "OBJ_A",
            "external": {"api": "$JS.edge.API"},
            "lag": 0,
            "active": 12_050_000_000,
        },
    }
    rep = wire.status_from_stream("AH", info).replication
    assert rep is not None and rep.kind == "mirror" and rep.read_only
    (origin,) = rep.origins
    assert origin.origin == Origin("A", domain="edge")
    assert origin.stale and rep.stale
    assert origin.last_contact is not None and origin.last_contact.total_seconds() == 12.05
    assert any("sealed" in w for w in rep.warnings)
    assert any("allow_direct" in w for w in rep.warnings)
    fresh = {**info, "config": cfg, "mirror": {**info["mirror"], "active": 600_000}}
    rep = wire.status_from_stream("AH", fresh).replication
    assert rep is not None and not rep.stale and rep.warnings == ()
    never = {**info, "config": cfg, "mirror": {**info["mirror"], "active": -1}}
    rep = wire.status_from_stream("AH", never).replication
    assert rep is not None and rep.stale and rep.origins[0].last_contact is None
    assert stale_origins(rep) == "A@edge none since the server started"  # verify's error


def test_verify_names_each_stale_origin_and_its_last_contact() -> None:
    cfg = wire.stream_config(
        ObjectStoreConfig(
            "ALL", sources=(Origin("S1", domain="e1"), Origin("S2", domain="e2")), writable=False
        )
    )
    sources = [
        {"name": "OBJ_S1", "external": {"api": "$JS.e1.API"}, "active": 61_000_000_000},
        {"name": "OBJ_S2", "external": {"api": "$JS.e2.API"}, "active": 300_000_000},
    ]
    rep = wire.status_from_stream("ALL", {"config": cfg, "sources": sources}).replication
    assert rep is not None and rep.stale
    assert stale_origins(rep) == "S1@e1 61.0s ago"  # the fresh one is not named


def test_same_domain_transformed_mirror_with_mirror_direct_is_warned_about() -> None:
    hand_made = {
        "name": "OBJ_B",
        "mirror": {"name": "OBJ_A", "subject_transforms": [{"src": "$O.A.>", "dest": "$O.B.>"}]},
        "allow_rollup_hdrs": True,
        "allow_direct": True,
        "mirror_direct": True,
    }
    rep = wire.status_from_stream("B", {"config": hand_made, "state": {}}).replication
    assert rep is not None
    assert any("breaks reads of the origin" in w for w in rep.warnings)


def test_plain_bucket_status_has_no_replication() -> None:
    cfg = wire.stream_config(ObjectStoreConfig("P"))
    assert wire.status_from_stream("P", {"config": cfg, "state": {}}).replication is None


EDGE, EDGE2 = Origin("A", domain="edge"), Origin("B", domain="edge2")


def test_orphans_gone_at_every_origin_are_removable_and_the_rest_kept() -> None:
    orphans = {"$O.H.C.gone": 3, "$O.H.C.flight": 2, "$O.H.C.other": 1}
    found = wire.classify_orphans(
        orphans, {EDGE: frozenset({"flight", "live"}), EDGE2: frozenset({"other"})}
    )
    assert dict(found.removable) == {"$O.H.C.gone": 3}
    assert dict(found.at_origin) == {"$O.H.C.flight": 2, "$O.H.C.other": 1}
    assert (dict(found.unknown), found.unreachable) == ({}, ())
    assert found.subjects == orphans


def test_an_origin_that_cannot_be_asked_makes_every_orphan_it_might_hold_unknown() -> None:
    orphans = {"$O.H.C.gone": 3, "$O.H.C.flight": 2}
    found = wire.classify_orphans(orphans, {EDGE: frozenset({"flight"}), EDGE2: None})
    assert dict(found.removable) == {}
    assert dict(found.at_origin) == {"$O.H.C.flight": 2}
    assert dict(found.unknown) == {"$O.H.C.gone": 3}
    assert found.unreachable == ("B@edge2",)
    assert dict(wire.classify_orphans(orphans, {}).unknown) == orphans  # no origin: no word


def test_only_a_same_domain_renaming_mirror_with_mirror_direct_breaks_direct_gets() -> None:
    bad = {
        "name": "OBJ_B",
        "mirror": {"name": "OBJ_A", "subject_transforms": [{"src": "$O.A.>", "dest": "$O.B.>"}]},
        "mirror_direct": True,
    }
    why = wire.breaks_direct_gets(bad, "OBJ_A")
    assert why is not None and "OBJ_B answers direct gets for OBJ_A" in why
    assert "natsobj bucket add B --source A" in why
    assert wire.breaks_direct_gets(bad, "OBJ_C") is None  # another origin
    assert wire.breaks_direct_gets({**bad, "mirror_direct": False}, "OBJ_A") is None
    across = {**bad, "mirror": {**bad["mirror"], "external": {"api": "$JS.edge.API"}}}
    assert wire.breaks_direct_gets(across, "OBJ_A") is None  # the leaf keeps it out
    untransformed = {**bad, "mirror": {"name": "OBJ_A"}}  # KV style: answers correctly
    assert wire.breaks_direct_gets(untransformed, "OBJ_A") is None
