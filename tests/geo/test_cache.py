"""Disk cache: hits on re-run, misses when the input changes, atomic and corruption-proof."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from dispatch.geo import cache as cache_module
from dispatch.geo import roads
from dispatch.geo.cache import DiskCache, default_cache_dir, file_sha256, make_key
from dispatch.geo.roads import RoadProvider, load_network
from dispatch.model import Location

SECTOR = Path(__file__).resolve().parents[2] / "data" / "osm" / "f7.osm"


@pytest.fixture
def osm_copy(tmp_path: Path) -> Path:
    target = tmp_path / "f7.osm"
    shutil.copyfile(SECTOR, target)
    return target


@pytest.fixture
def graph_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record each real OSM parse (a cache miss) without changing what it returns."""
    calls: list[Path] = []
    original = roads.load_motorable_graph

    def counting(path: str | Path) -> nx.MultiDiGraph:
        calls.append(Path(path))
        return original(path)

    monkeypatch.setattr(roads, "load_motorable_graph", counting)
    return calls


def test_network_is_parsed_once_then_read_from_cache(
    tmp_path: Path, osm_copy: Path, graph_loads: list[Path]
) -> None:
    """A second load of the same file hits the cache and gives an equal network."""
    cache = DiskCache(tmp_path / "cache")
    first = load_network(osm_copy, cache)
    second = load_network(osm_copy, cache)
    assert len(graph_loads) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    assert second.key == first.key
    np.testing.assert_array_equal(second.edge_time_ms, first.edge_time_ms)


def test_changed_file_invalidates_network(
    tmp_path: Path, osm_copy: Path, graph_loads: list[Path]
) -> None:
    """Editing the OSM file (a road becomes a footway) parses again and changes the network."""
    cache = DiskCache(tmp_path / "cache")
    before = load_network(osm_copy, cache)
    text = osm_copy.read_text()
    osm_copy.write_text(text.replace('v="residential"', 'v="footway"', 5))
    after = load_network(osm_copy, cache)
    assert len(graph_loads) == 2
    assert cache.hits == 0
    assert after.key != before.key


def test_corrupt_entry_is_ignored_and_rebuilt(
    tmp_path: Path, osm_copy: Path, graph_loads: list[Path]
) -> None:
    """A garbled cache file counts as corrupt, is rebuilt, and the rebuilt entry is then used."""
    cache = DiskCache(tmp_path / "cache")
    good = load_network(osm_copy, cache)
    (entry,) = (tmp_path / "cache" / "network").glob("*.npz")
    entry.write_bytes(b"PK\x03\x04 not a real archive")
    rebuilt = load_network(osm_copy, cache)
    assert cache.corrupt == 1
    assert rebuilt.key == good.key
    load_network(osm_copy, cache)
    assert len(graph_loads) == 2
    assert cache.hits == 1


def test_matrix_is_cached_by_locations(tmp_path: Path, osm_copy: Path) -> None:
    """Same locations hit the matrix cache; moving one location misses it."""
    cache = DiskCache(tmp_path / "cache")
    network = load_network(osm_copy)
    provider = RoadProvider(network, cache=cache)
    points = [
        Location(float(network.node_lat[i]), float(network.node_lon[i])) for i in range(0, 40, 4)
    ]
    first = provider.matrix(points)
    second = provider.matrix(points)
    assert (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(first.duration_s, second.duration_s)
    assert second.duration_s.dtype == np.int64
    moved = [*points[:-1], Location(points[-1].lat + 1e-5, points[-1].lon)]
    provider.matrix(moved)
    assert cache.misses == 2
    other_settings = RoadProvider(network, cache=cache, access_speed_kph=5.0)
    other_settings.matrix(points)
    assert cache.misses == 3


def test_save_is_atomic_and_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed write leaves neither an entry nor a temporary file; a good one leaves one file."""
    cache = DiskCache(tmp_path)
    arrays = {"a": np.arange(5, dtype=np.int64), "b": np.array([1.5, 2.5])}

    def exploding(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.np, "savez", exploding)
    with pytest.raises(OSError, match="disk full"):
        cache.save_arrays("kind", "k1", arrays)
    assert list(tmp_path.rglob("*")) == [tmp_path / "kind"]
    monkeypatch.undo()
    cache.save_arrays("kind", "k1", arrays)
    assert [p.name for p in (tmp_path / "kind").iterdir()] == ["k1.npz"]
    loaded = cache.load_arrays("kind", "k1")
    assert loaded is not None
    assert loaded["a"].dtype == np.int64
    np.testing.assert_array_equal(loaded["a"], arrays["a"])
    np.testing.assert_array_equal(loaded["b"], arrays["b"])


def test_large_integers_keep_int64(tmp_path: Path) -> None:
    """Values beyond int32 are stored exactly (OSM node ids exceed 2**31)."""
    cache = DiskCache(tmp_path)
    big = np.array([7_000_000_000, -1], dtype=np.int64)
    cache.save_arrays("kind", "k", {"ids": big})
    loaded = cache.load_arrays("kind", "k")
    assert loaded is not None
    np.testing.assert_array_equal(loaded["ids"], big)


def test_default_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$DISPATCH_CACHE_DIR wins; otherwise .cache/dispatch under the current directory."""
    monkeypatch.setenv("DISPATCH_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("DISPATCH_CACHE_DIR")
    monkeypatch.chdir(tmp_path)
    assert default_cache_dir() == tmp_path / ".cache" / "dispatch"


def test_keys_separate_parts_and_track_content(tmp_path: Path) -> None:
    """Keys differ when parts are split differently or a file's bytes change."""
    assert make_key("ab", "c") != make_key("a", "bc")
    path = tmp_path / "x.bin"
    path.write_bytes(b"one")
    before = file_sha256(path)
    path.write_bytes(b"two")
    assert file_sha256(path) != before
