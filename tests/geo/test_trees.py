"""Dead-end trees: peeling is exact, so the core-only Dijkstra equals one on the whole graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from dispatch.geo.roads import load_network
from dispatch.geo.trees import peel

SECTOR = Path(__file__).resolve().parents[2] / "data" / "osm" / "i10.osm"


def _graph(n: int, arcs: list[tuple[int, int, float]]) -> sp.csr_matrix:
    rows, cols, data = zip(*arcs, strict=True)
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))


def _both_ways(edges: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    return [arc for u, v, w in edges for arc in ((u, v, w), (v, u, w + 0.5))]


def test_peel_finds_the_cycle_core_and_tree_weights() -> None:
    """A triangle with a two-edge branch and a leaf: the branch hangs from node 0."""
    # core triangle 0-1-2; tree 0-3-4 and 3-5
    arcs = _both_ways([(0, 1, 10), (1, 2, 10), (2, 0, 10), (0, 3, 1), (3, 4, 2), (3, 5, 4)])
    trees = peel(_graph(6, arcs))
    assert trees.core_nodes.tolist() == [0, 1, 2]
    assert trees.root.tolist() == [0, 1, 2, 0, 0, 0]
    assert trees.depth.tolist() == [0, 0, 0, 1, 2, 2]
    assert trees.up[4] == 2.5 + 1.5  # 4 -> 3 -> 0 (reverse arcs cost +0.5)
    assert trees.down[4] == 1 + 2
    assert trees.lca(4, 5) == 3
    assert trees.tree_weight(4, 5) == 2.5 + 4
    assert trees.tree_weight(3, 5) == 4
    np.testing.assert_array_equal(
        trees.lca_many(np.array([4, 4, 5]), np.array([5, 3, 0])), np.array([3, 3, 0])
    )


def test_a_graph_that_is_all_tree_keeps_one_core_node() -> None:
    """Peeling a path leaves exactly one node, and every other node hangs from it."""
    trees = peel(_graph(4, _both_ways([(0, 1, 1), (1, 2, 1), (2, 3, 1)])))
    assert trees.core_nodes.size == 1
    assert set(trees.root.tolist()) == {int(trees.core_nodes[0])}


def test_one_way_tree_arc_disables_peeling() -> None:
    """Without the reverse arc a branch is not a two-way bridge, so nothing is peeled."""
    arcs = [*_both_ways([(0, 1, 1), (1, 2, 1), (2, 0, 1)]), (0, 3, 1)]
    trees = peel(_graph(4, arcs))
    assert trees.pendant_count == 0
    assert trees.root.tolist() == [0, 1, 2, 3]


def test_sector_node_matrix_equals_whole_graph_dijkstra() -> None:
    """For every node of a real sector, peeled times and lengths equal plain Dijkstra's."""
    network = load_network(SECTOR)
    assert 0 < network.core_node_count < network.node_count
    nodes = np.arange(network.node_count, dtype=np.int64)
    time_ms, length_dm = network.node_matrix(nodes, workers=1)
    weight = network.edge_time_ms.astype(np.float64) * 2.0**24 + network.edge_length_dm
    full = dijkstra(
        sp.csr_matrix((weight, network.indices, network.indptr), shape=(nodes.size,) * 2)
    )
    expected_ms = np.floor(full / 2.0**24)
    np.testing.assert_array_equal(time_ms, expected_ms.astype(np.int64))
    np.testing.assert_array_equal(length_dm, (full - expected_ms * 2.0**24).astype(np.int64))


def test_repeated_and_unordered_nodes_are_fine() -> None:
    """Duplicates get zero between them and rows follow the order asked for."""
    network = load_network(SECTOR)
    leaf = int(np.flatnonzero(network.trees.depth > 0)[0])
    nodes = np.array([leaf, 5, leaf, 0], dtype=np.int64)
    time_ms, _ = network.node_matrix(nodes, workers=1)
    reference, _ = network.node_matrix(np.array([0, 5, leaf], dtype=np.int64), workers=1)
    assert time_ms[0, 2] == 0 and time_ms[2, 0] == 0
    assert time_ms[0, 3] == reference[2, 0]
    assert time_ms[3, 1] == reference[0, 1]
