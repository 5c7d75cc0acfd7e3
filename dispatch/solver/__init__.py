"""The OR-Tools solver: the only package that imports ``ortools``.

``solve(problem, matrix)`` returns a :class:`dispatch.plan.Plan`; ``presolve_unassigned`` tells
in advance which visits no agent can serve at all.
"""

from dispatch.solver.search import SearchProgress, solve

__all__ = ["SearchProgress", "solve"]
