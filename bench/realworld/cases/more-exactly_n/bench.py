"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

from more_itertools import exactly_n

SMALL = [1, 0, 1, 1, 0, 1]
LARGE = [1, 0] * 50000


def workload():
    for _ in range(20000):
        exactly_n(SMALL, 4)
    for n in (0, 10, 40000, 50000):
        exactly_n(LARGE, n)


def best_of(runs=7):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    print(f"seconds: {best_of():.6f}")
