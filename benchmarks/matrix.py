"""Road travel-matrix benchmark on the Islamabad network: prepare, many-to-many, cache, reference.

For each size (default 500, 2000, 5000 random locations near roads) it measures the matrix time,
the same matrix read back from the disk cache, and the peak numpy memory of the parent process.
Preparation is measured cold (parse the OSM file) and warm (read the prepared network from the
cache). A 200-location sample is checked against networkx Dijkstra on the osmnx graph, which
must give identical times, and the speed ratio is reported.

    .venv/bin/python benchmarks/matrix.py [--sizes 500 2000 5000] [--out FILE]

Prints a table and writes JSON (default ``benchmarks/results/matrix.json``). Timings depend on
how busy the machine is: run it on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from dispatch.geo.cache import DiskCache
from dispatch.geo.roads import (
    RoadNetwork,
    RoadProvider,
    load_motorable_graph,
    load_network,
    network_cache_key,
)
from dispatch.model import Location

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OSM = ROOT / "data" / "osm" / "islamabad_ict_2020-07-14_highways.osm.bz2"
JITTER_M = 80.0  # spread of locations around their road node (one standard deviation)


def random_locations(network: RoadNetwork, count: int, seed: int) -> list[Location]:
    """Points scattered around random road nodes, as geocoded homes would be."""
    rng = np.random.default_rng(seed)
    nodes = rng.integers(0, network.node_count, size=count)
    lat0 = float(np.mean(network.node_lat))
    dlat = rng.normal(0.0, JITTER_M, count) / 111_195.0
    dlon = rng.normal(0.0, JITTER_M, count) / (111_195.0 * np.cos(np.radians(lat0)))
    return [
        Location(float(network.node_lat[n] + a), float(network.node_lon[n] + b))
        for n, a, b in zip(nodes, dlat, dlon, strict=True)
    ]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(osm: Path, cache: DiskCache) -> tuple[nx.MultiDiGraph, RoadNetwork, dict[str, float]]:
    """Cold preparation (parse, filter, simplify, arrays, cache write), then a warm reload."""
    start = time.perf_counter()
    graph = load_motorable_graph(osm)
    parsed = time.perf_counter()
    network = RoadNetwork.from_graph(graph, str(osm))
    cache.save_arrays("network", network_cache_key(osm), network.arrays())
    cold = time.perf_counter()
    warm_network = load_network(osm, cache)
    warm = time.perf_counter()
    if cache.hits != 1 or warm_network.key != network.key:
        raise RuntimeError("warm preparation did not come from the cache")
    timings = {
        "parse_s": parsed - start,
        "cold_s": cold - start,
        "warm_s": warm - cold,
    }
    return graph, warm_network, timings


def matrix_row(network: RoadNetwork, size: int, seed: int, cache: DiskCache) -> dict[str, Any]:
    """Time one matrix cold (computed, written to the cache) and warm (read from it)."""
    locations = random_locations(network, size, seed)
    snapped = np.unique(network.snap(locations).node)
    unique_nodes = int(snapped.size)
    unique_roots = int(np.unique(network.trees.root[snapped]).size)
    provider = RoadProvider(network, cache=cache)
    tracemalloc.start()
    start = time.perf_counter()
    cold = provider.matrix(locations)
    computed = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    warm = provider.matrix(locations)
    loaded = time.perf_counter()
    if not np.array_equal(cold.duration_s, warm.duration_s):
        raise RuntimeError("cached matrix differs from the computed one")
    off_diagonal = cold.duration_s[~np.eye(size, dtype=bool)]
    return {
        "locations": size,
        "unique_nodes": unique_nodes,
        "unique_roots": unique_roots,
        "matrix_s": computed - start,
        "matrix_from_cache_s": loaded - computed,
        "peak_numpy_mb": peak / 2**20,
        "median_duration_s": float(np.median(off_diagonal)),
        "max_duration_s": int(off_diagonal.max()),
    }


def reference_check(
    graph: nx.MultiDiGraph, network: RoadNetwork, size: int, seed: int
) -> dict[str, Any]:
    """CSR times against networkx on the osmnx graph for ``size`` random nodes."""
    rng = np.random.default_rng(seed)
    nodes = np.sort(rng.choice(network.node_count, size=size, replace=False)).astype(np.int64)
    start = time.perf_counter()
    time_ms, _ = network.node_matrix(nodes)
    csr_s = time.perf_counter() - start
    osmids = [int(network.node_osmid[n]) for n in nodes]
    start = time.perf_counter()
    reference = [
        nx.single_source_dijkstra_path_length(graph, u, weight="travel_time_s") for u in osmids
    ]
    nx_s = time.perf_counter() - start
    expected = np.array([[row[v] for v in osmids] for row in reference])
    max_diff_s = float(np.max(np.abs(time_ms / 1000.0 - expected)))
    return {
        "nodes": size,
        "csr_s": csr_s,
        "networkx_s": nx_s,
        "speedup": nx_s / csr_s if csr_s > 0 else float("inf"),
        "max_abs_diff_s": max_diff_s,
        "equal": max_diff_s < 1e-6,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--osm", type=Path, default=DEFAULT_OSM)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 5000])
    parser.add_argument("--reference", type=int, default=200, help="networkx sample size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/matrix.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
        cache = DiskCache(Path(tmp))
        progress(f"preparing {args.osm.name} ...")
        graph, network, prep = prepare(args.osm, cache)
        progress(
            f"  {network.node_count} nodes, {network.edge_count} edges; "
            f"cold {prep['cold_s']:.1f} s, warm {prep['warm_s']:.2f} s"
        )
        rows = []
        for size in args.sizes:
            progress(f"matrix {size} x {size} ...")
            rows.append(matrix_row(network, size, args.seed, cache))
        progress(f"networkx reference on {args.reference} nodes ...")
        reference = reference_check(graph, network, args.reference, args.seed)

    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "osm_file": str(args.osm.relative_to(ROOT) if args.osm.is_relative_to(ROOT) else args.osm),
        "nodes": network.node_count,
        "core_nodes": network.core_node_count,
        "edges": network.edge_count,
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "prepare": prep,
        "matrices": rows,
        "reference": reference,
        "max_rss_mb": {"main": usage_self, "workers": usage_children},
    }

    print(
        f"network: {network.node_count} nodes ({network.core_node_count} after peeling dead "
        f"ends), {network.edge_count} edges ({args.osm.name})"
    )
    print(
        f"prepare: cold {prep['cold_s']:.1f} s (parse {prep['parse_s']:.1f} s), "
        f"warm from cache {prep['warm_s']:.2f} s"
    )
    header = (
        f"{'locations':>9} {'nodes':>6} {'roots':>6} {'matrix s':>9} {'cached s':>9} {'peak MB':>8}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['locations']:>9} {row['unique_nodes']:>6} {row['unique_roots']:>6} "
            f"{row['matrix_s']:>9.2f} "
            f"{row['matrix_from_cache_s']:>9.2f} {row['peak_numpy_mb']:>8.0f}"
        )
    print(
        f"reference {reference['nodes']} nodes: CSR {reference['csr_s']:.2f} s, networkx "
        f"{reference['networkx_s']:.1f} s ({reference['speedup']:.0f}x), "
        f"max |diff| {reference['max_abs_diff_s']:.2e} s -> "
        f"{'equal' if reference['equal'] else 'DIFFERENT'}"
    )
    print(f"max RSS: main {usage_self:.0f} MB, workers {usage_children:.0f} MB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    progress(f"wrote {args.out}")
    return 0 if reference["equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
