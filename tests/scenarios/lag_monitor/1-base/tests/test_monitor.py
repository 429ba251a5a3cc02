import unittest

from lag.monitor import lagging_partitions


def part(index, topic, lag_ms, paused=False):
    return {"index": index, "topic": topic, "lag_ms": lag_ms, "paused": paused}


class LaggingPartitionsTest(unittest.TestCase):
    def test_flags_partitions_far_behind_the_median(self):
        partitions = [part(0, "orders", 90), part(1, "orders", 900), part(2, "clicks", 390)]
        self.assertEqual(lagging_partitions(partitions, [80, 100, 120]), [("orders", 1)])

    def test_paused_partitions_are_ignored(self):
        partitions = [part(0, "orders", 5000, paused=True)]
        self.assertEqual(lagging_partitions(partitions, [100]), [])
