"""Consumer lag: which partitions fell far behind what the group usually sees."""

import statistics


def lagging_partitions(partitions, recent_lag_ms, factor=4.0):
    """Partitions whose lag exceeds factor x the median of the recent lag samples."""
    limit = statistics.median(recent_lag_ms) * factor
    flagged = []
    for partition in partitions:
        if partition["paused"]:
            continue
        if partition["lag_ms"] > limit:
            flagged.append((partition["topic"], partition["index"]))
    return flagged
