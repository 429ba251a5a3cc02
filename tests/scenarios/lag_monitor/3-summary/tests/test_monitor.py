import unittest

from lag.monitor import lagging_partitions, summary_line


def part(index, topic, lag_ms, paused=False):
    return {"index": index, "topic": topic, "lag_ms": lag_ms, "paused": paused}


class LaggingPartitionsTest(unittest.TestCase):
    def test_flags_partitions_far_behind_the_median(self):
        partitions = [part(0, "orders", 90), part(1, "orders", 900), part(2, "clicks", 390)]
        self.assertEqual(lagging_partitions(partitions, [80, 100, 120]), [("orders", 1)])

    def test_paused_partitions_are_ignored(self):
        partitions = [part(0, "orders", 5000, paused=True)]
        self.assertEqual(lagging_partitions(partitions, [100]), [])

    def test_a_topic_factor_replaces_the_default(self):
        partitions = [part(0, "nightly", 900), part(1, "orders", 900)]
        flagged = lagging_partitions(partitions, [100], topic_factors={"nightly": 20.0})
        self.assertEqual(flagged, [("orders", 1)])

    def test_no_partitions_need_no_samples(self):
        self.assertEqual(lagging_partitions([], []), [])


class SummaryTest(unittest.TestCase):
    def test_summary_line(self):
        self.assertEqual(summary_line({}, 0), "0 of 0 partitions lagging")
        line = summary_line({"orders": 2, "clicks": 1}, 120)
        self.assertEqual(line, "3 of 120 partitions lagging (clicks 1, orders 2)")
