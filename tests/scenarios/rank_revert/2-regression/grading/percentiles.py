"""Latency grading: where each request falls among the day's latencies."""


def percentile_rank(ordered_ms, latency_ms):
    """Percentage of the ascending latencies `ordered_ms` at or below latency_ms."""
    if not ordered_ms:
        return 0.0
    at_or_below = 0
    for value in ordered_ms:
        if value > latency_ms:
            break
        at_or_below += 1
    return 100.0 * at_or_below / len(ordered_ms)


def grade_requests(latencies_ms, slow_rank=95.0):
    """(latency, rank, is_slow) for every request of the day, in their order."""
    ordered = sorted(latencies_ms)
    graded = []
    for latency in latencies_ms:
        rank = percentile_rank(ordered, latency)
        graded.append((latency, rank, rank >= slow_rank))
    return graded


def slowest_rank(latencies_ms):
    """The rank of the day's slowest request (100.0 unless the day was empty)."""
    return percentile_rank(sorted(latencies_ms), max(latencies_ms, default=0))
