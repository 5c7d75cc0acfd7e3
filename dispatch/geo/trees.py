"""Dead-end trees of a road graph: peel them off so Dijkstra runs on the smaller core.

About a quarter of an Islamabad road graph's nodes sit in trees of cul-de-sacs that hang from
the rest of the network by a single junction. In a strongly connected graph every tree edge is a
bridge ridden both ways, so a tree node's only way out is up to its root: the fastest path from a
tree node ``v`` to a node ``w`` outside its tree is ``v -> root(v)``, then the core, then
``root(w) -> w``; inside one tree it is the unique tree path through the lowest common ancestor.
Precomputing each node's weight to and from its root lets many-to-many Dijkstra run on the
2-core only (fewer nodes, and fewer distinct sources after mapping each node to its root).

Weights here are the exact integer-valued float64 codes of :mod:`dispatch.geo.roads`, so sums and
differences stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp


@dataclass(frozen=True)
class PendantTrees:
    """Each node's root in the 2-core and its path weight to (``up``) and from (``down``) it.

    Core nodes are their own root with ``parent = -1``, ``depth = 0`` and zero weights.
    ``core_nodes`` lists the core (sorted) and ``core_index`` maps a node to its position there.
    """

    root: npt.NDArray[np.int64]
    parent: npt.NDArray[np.int64]
    depth: npt.NDArray[np.int64]
    up: npt.NDArray[np.float64]
    down: npt.NDArray[np.float64]
    core_nodes: npt.NDArray[np.int64]
    core_index: npt.NDArray[np.int64]

    @property
    def pendant_count(self) -> int:
        return int(self.root.shape[0] - self.core_nodes.shape[0])

    def lca(self, v: int, w: int) -> int:
        """Lowest common ancestor of two nodes with the same root."""
        depth, parent = self.depth, self.parent
        while depth[v] > depth[w]:
            v = int(parent[v])
        while depth[w] > depth[v]:
            w = int(parent[w])
        while v != w:
            v, w = int(parent[v]), int(parent[w])
        return v

    def lca_many(self, v: npt.NDArray[np.int64], w: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """:meth:`lca` of many pairs at once (one numpy step per level of tree depth)."""
        v, w = v.copy(), w.copy()
        depth, parent = self.depth, self.parent
        while True:
            deeper_v = depth[v] > depth[w]
            deeper_w = depth[w] > depth[v]
            differ = (v != w) & ~deeper_v & ~deeper_w
            if not (deeper_v.any() or deeper_w.any() or differ.any()):
                return v
            move_v = deeper_v | differ
            move_w = deeper_w | differ
            v[move_v] = parent[v[move_v]]
            w[move_w] = parent[w[move_w]]

    def tree_weights(
        self, v: npt.NDArray[np.int64], w: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """:meth:`tree_weight` of many same-root pairs at once."""
        meet = self.lca_many(v, w)
        result: npt.NDArray[np.float64] = (
            self.up[v] - self.up[meet] + self.down[w] - self.down[meet]
        )
        return result

    def tree_weight(self, v: int, w: int) -> float:
        """Weight of the tree path from ``v`` to ``w`` (same root), exact by subtraction."""
        meet = self.lca(v, w)
        return float(self.up[v] - self.up[meet] + self.down[w] - self.down[meet])


def _no_trees(n: int) -> PendantTrees:
    nodes = np.arange(n, dtype=np.int64)
    return PendantTrees(
        root=nodes,
        parent=np.full(n, -1, dtype=np.int64),
        depth=np.zeros(n, dtype=np.int64),
        up=np.zeros(n),
        down=np.zeros(n),
        core_nodes=nodes,
        core_index=nodes.copy(),
    )


def _arc_weights(
    csr: sp.csr_matrix, rows: npt.NDArray[np.int64], cols: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64] | None:
    """Weights of arcs ``rows[i] -> cols[i]`` (None if any arc is missing)."""
    n = csr.shape[0]
    coo = csr.tocoo()
    keys = coo.row.astype(np.int64) * n + coo.col.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    keys, data = keys[order], np.asarray(coo.data, dtype=np.float64)[order]
    wanted = rows * n + cols
    at = np.searchsorted(keys, wanted)
    if np.any(at >= keys.size) or np.any(keys[np.minimum(at, keys.size - 1)] != wanted):
        return None
    result: npt.NDArray[np.float64] = data[at]
    return result


def peel(csr: sp.csr_matrix) -> PendantTrees:
    """Split a strongly connected directed graph into its 2-core and the trees hanging off it.

    Nodes of undirected degree one are removed repeatedly (the last node of a graph that is all
    tree stays as the core). If a tree arc lacks its reverse (not strongly connected), nothing
    is peeled and Dijkstra simply runs on the whole graph.
    """
    n = int(csr.shape[0])
    pattern = csr.copy()
    pattern.data = np.ones_like(pattern.data)
    undirected = (pattern + pattern.T).tocsr()
    undirected.setdiag(0)
    undirected.eliminate_zeros()
    neighbours = [
        undirected.indices[a:b].tolist()
        for a, b in zip(undirected.indptr[:-1], undirected.indptr[1:], strict=True)
    ]
    degree = np.diff(undirected.indptr).astype(np.int64)
    removed = np.zeros(n, dtype=bool)
    parent = np.full(n, -1, dtype=np.int64)
    stack = [int(v) for v in np.flatnonzero(degree == 1)]
    order: list[int] = []
    while stack:
        v = stack.pop()
        if removed[v] or degree[v] != 1:
            continue
        p = next(u for u in neighbours[v] if not removed[u])
        removed[v] = True
        parent[v] = p
        order.append(v)
        degree[v] = 0
        degree[p] -= 1
        if degree[p] == 1:
            stack.append(p)
    if not order:
        return _no_trees(n)

    peeled = np.array(order, dtype=np.int64)
    w_up = _arc_weights(csr, peeled, parent[peeled])
    w_down = _arc_weights(csr, parent[peeled], peeled)
    if w_up is None or w_down is None:
        return _no_trees(n)

    root = np.arange(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    up = np.zeros(n)
    down = np.zeros(n)
    # Reverse peel order visits every parent before its children.
    for i in range(peeled.size - 1, -1, -1):
        v, p = int(peeled[i]), int(parent[peeled[i]])
        root[v] = root[p]
        depth[v] = depth[p] + 1
        up[v] = w_up[i] + up[p]
        down[v] = down[p] + w_down[i]
    core_nodes = np.flatnonzero(~removed).astype(np.int64)
    core_index = np.full(n, -1, dtype=np.int64)
    core_index[core_nodes] = np.arange(core_nodes.size, dtype=np.int64)
    return PendantTrees(root, parent, depth, up, down, core_nodes, core_index)
