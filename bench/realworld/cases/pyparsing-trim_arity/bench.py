"""Benchmark for this corpus case: best of 7 runs of a fixed workload; prints `seconds: X`."""

import time

import pyparsing as pp

INTEGER = pp.Word(pp.nums).set_parse_action(lambda tokens: int(tokens[0]))
GRAMMAR = pp.OneOrMore(INTEGER)
TEXT = " ".join(str(i) for i in range(6000))


def workload():
    GRAMMAR.parse_string(TEXT, parse_all=True)


def best_of(runs=7):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        workload()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    print(f"seconds: {best_of():.6f}")
