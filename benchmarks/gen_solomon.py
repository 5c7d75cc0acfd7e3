"""Write seeded Solomon-format VRPTW instances (R, C, RC layouts; type 1 or 2; any size).

    python benchmarks/gen_solomon.py --customers 1000 --layout RC --type 1 --seed 1 --out gen/
    python benchmarks/gen_solomon.py --customers 200 --all --seeds 1-3 --out gen/

Files are named ``<LAYOUT><TYPE>_<N>_s<SEED>.txt`` and read back with
:func:`dispatch.solomon.read_solomon`, so ``benchmarks/vrptw.py gen/`` runs on them (without
best-known values: gaps are blank, peers are the yardstick).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dispatch.solomon import LAYOUTS, generate_instance, write_solomon


def seed_list(text: str) -> list[int]:
    """``"3"`` -> [3]; ``"1-4"`` -> [1, 2, 3, 4]; ``"1,5"`` -> [1, 5]."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100, help="customers per instance")
    parser.add_argument("--layout", choices=LAYOUTS, default="R")
    parser.add_argument("--type", type=int, choices=(1, 2), default=1, dest="horizon_type")
    parser.add_argument("--all", action="store_true", help="all six layout/type classes")
    parser.add_argument("--seeds", default="0", help="a seed, a range 1-5 or a list 1,4")
    parser.add_argument(
        "--window-density", type=float, default=0.75, help="share of customers with a window"
    )
    parser.add_argument("--vehicles", type=int, default=None, help="fleet (default n/4)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    try:
        seeds = seed_list(args.seeds)
    except ValueError:
        parser.error(f"--seeds: expected 3, 1-5 or 1,4; got {args.seeds!r}")
    classes = (
        [(layout, t) for layout in LAYOUTS for t in (1, 2)]
        if args.all
        else [(args.layout, args.horizon_type)]
    )
    args.out.mkdir(parents=True, exist_ok=True)
    for layout, horizon_type in classes:
        for seed in seeds:
            try:
                instance = generate_instance(
                    args.customers,
                    layout,
                    horizon_type,
                    seed,
                    window_density=args.window_density,
                    vehicles=args.vehicles,
                )
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            path = args.out / f"{instance.name}.txt"
            write_solomon(instance, path)
            print(
                f"{path}: {instance.n_customers} customers, {instance.vehicles} vehicles "
                f"of capacity {instance.capacity}, horizon {instance.due[0]:g}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
