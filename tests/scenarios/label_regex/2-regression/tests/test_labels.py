import unittest

from shipping.labels import parcels_by_carrier, parse_tracking


class ParseTrackingTest(unittest.TestCase):
    def test_reads_the_three_parts(self):
        self.assertEqual(parse_tracking("RR123456785DE"), ("RR", 123456785, "DE"))

    def test_lowercase_and_spaced_numbers_are_read(self):
        self.assertEqual(parse_tracking("rr 123456785 de"), ("RR", 123456785, "DE"))

    def test_surrounding_whitespace_is_ignored(self):
        self.assertEqual(parse_tracking("  CP000000042FR\n"), ("CP", 42, "FR"))

    def test_other_text_is_not_a_tracking_number(self):
        for raw in ("", "RR12345DE", "RR123456785", "hello world", "RR1234567850DE"):
            self.assertIsNone(parse_tracking(raw), raw)


class ParcelsByCarrierTest(unittest.TestCase):
    def test_groups_sorts_and_sets_aside_unreadable(self):
        parcels = [
            {"tracking": "RR000000002DE", "grams": 300},
            {"tracking": "smudged", "grams": 120},
            {"tracking": "CP000000001DE", "grams": 950},
            {"tracking": "LX000000007NL", "grams": 40},
        ]
        carriers, unreadable = parcels_by_carrier(parcels)
        self.assertEqual(carriers["DE"], [("CP", 1, 950), ("RR", 2, 300)])
        self.assertEqual(carriers["NL"], [("LX", 7, 40)])
        self.assertEqual(unreadable, [{"tracking": "smudged", "grams": 120}])
