"""Consumer lag: which partitions fell far behind what the group usually sees."""

import statistics


def lagging_partitions(partitions, recent_lag_ms, factor=4.0, topic_factors=None):
    """Partitions whose lag exceeds factor x the median of the recent lag samples.

    Batch topics lag by design between runs: topic_factors gives them a factor of their own.
    """
    topic_factors = topic_factors or {}
    flagged = []
    for partition in partitions:
        if partition["paused"]:
            continue
        limit = statistics.median(recent_lag_ms) * topic_factors.get(partition["topic"], factor)
        if partition["lag_ms"] > limit:
            flagged.append((partition["topic"], partition["index"]))
    return flagged
