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


def summary_line(flagged_by_topic, checked):
    """'3 of 120 partitions lagging (orders 2, clicks 1)' for the on-call channel."""
    total = sum(flagged_by_topic.values())
    if not total:
        return f"0 of {checked} partitions lagging"
    detail = ", ".join(f"{topic} {count}" for topic, count in sorted(flagged_by_topic.items()))
    return f"{total} of {checked} partitions lagging ({detail})"
