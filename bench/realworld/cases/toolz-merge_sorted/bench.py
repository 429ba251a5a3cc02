"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

from toolz.itertoolz import merge_sorted

SEQS = [list(range(start, 600000, 16)) for start in range(16)]


def workload():
    for _ in merge_sorted(*SEQS):
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
