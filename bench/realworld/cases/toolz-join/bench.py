"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

from toolz.itertoolz import join

# Most right-hand keys have no left match: the case the commit sped up.
LEFT = [(i % 100, i) for i in range(1000)]
RIGHT = [(i, -i) for i in range(200000)]


def first(pair):
    return pair[0]


def workload():
    for _ in join(first, LEFT, first, RIGHT):
        pass


def best_of(runs=7):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    print(f"seconds: {best_of():.6f}")
