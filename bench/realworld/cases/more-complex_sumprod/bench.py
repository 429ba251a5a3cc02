"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

from more_itertools.more import _complex_sumprod

V1 = [complex(i % 17, -(i % 5)) for i in range(60000)]
V2 = [complex(i % 11 - 3, i % 7) for i in range(60000)]


def workload():
    _complex_sumprod(V1, V2)


def best_of(runs=7):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    print(f"seconds: {best_of():.6f}")
