import unittest

from grading.percentiles import grade_requests, percentile_rank, slowest_rank


class PercentileRankTest(unittest.TestCase):
    def test_counts_values_at_or_below(self):
        self.assertEqual(percentile_rank([10, 20, 20, 40], 20), 75.0)
        self.assertEqual(percentile_rank([10, 20, 20, 40], 5), 0.0)

    def test_an_empty_day_ranks_nothing(self):
        self.assertEqual(percentile_rank([], 20), 0.0)
        self.assertEqual(slowest_rank([]), 0.0)


class GradeRequestsTest(unittest.TestCase):
    def test_marks_the_slow_tail(self):
        graded = grade_requests([30, 10, 20, 400], slow_rank=90.0)
        self.assertEqual(graded[3], (400, 100.0, True))
        self.assertEqual(graded[1], (10, 25.0, False))
