"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

from toolz.itertoolz import interpose

DATA = list(range(200000))


def workload():
    for _ in range(20000):
        for _ in interpose(0, [1, 2, 3]):
            pass
    for _ in interpose(0, DATA):
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
