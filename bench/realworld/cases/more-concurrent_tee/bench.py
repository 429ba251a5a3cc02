"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

from more_itertools.more import _concurrent_tee

DATA = [1, 2, 3]


def workload():
    # concurrent_tee() makes one tee from the iterable and n - 1 copies of it: both paths.
    first = None
    for _ in range(100000):
        first = _concurrent_tee(DATA)
    for _ in range(200000):
        _concurrent_tee(first)


def best_of(runs=7):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    print(f"seconds: {best_of():.6f}")
