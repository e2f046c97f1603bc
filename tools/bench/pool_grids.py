#!/usr/bin/env python3
"""Pools the rounds of several `graft bench features --json` grids, point by point.

    tools/bench/pool_grids.py grid15.json grid16.json grid17.json

One grid's b/a moves by up to ~0.1 between runs on this kind of machine, so a lever is judged on the rounds of
several grids of one build. For each resolution and batch this prints: the number of rounds, the ratio of the
pooled medians (b over a, as the bench's b/a column), the median of the rounds' paired b/a, and a sign-test
interval for that median (the widest order-statistic interval whose coverage is at least 96%).
"""
import json
import math
import statistics
import sys


def sign_test_interval(sorted_values):
    n = len(sorted_values)

    def below(k):  # P(Binomial(n, 1/2) <= k)
        return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n

    ks = [k for k in range(1, n // 2 + 1) if below(k - 1) <= 0.02]
    if not ks:
        return None
    k = max(ks)
    return sorted_values[k - 1], sorted_values[n - k], 1 - 2 * below(k - 1)


def main(paths):
    if not paths:
        sys.exit("usage: pool_grids.py GRID.json [GRID.json ...]")
    points = {}
    for path in paths:
        with open(path) as f:
            grid = json.load(f)
        for run in grid["runs"]:
            a = run.get("bare_img_s_repeats") or []
            b = run.get("pipeline_img_s_repeats") or []
            if not a or len(a) != len(b):
                sys.exit(f"{path}: {run['resolution']} px batch {run['batch']} has no paired repeats")
            p = points.setdefault((run["resolution"], run["batch"]), {"a": [], "b": [], "pair": []})
            p["a"] += a
            p["b"] += b
            p["pair"] += [y / x for x, y in zip(a, b)]
    print(f"{'resolution':>10} {'batch':>5} {'rounds':>6} {'b/a':>6} {'pair':>6}  interval")
    for (res, batch), p in points.items():
        pairs = sorted(p["pair"])
        ci = sign_test_interval(pairs)
        shown = "-" if ci is None else f"{ci[0]:.3f}-{ci[1]:.3f} ({ci[2]:.0%})"
        ratio = statistics.median(p["b"]) / statistics.median(p["a"])
        print(f"{res:>10} {batch:>5} {len(pairs):>6} {ratio:6.3f} {statistics.median(pairs):6.3f}  {shown}")


if __name__ == "__main__":
    main(sys.argv[1:])
