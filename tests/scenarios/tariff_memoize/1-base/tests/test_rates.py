import unittest

from tariffs.rates import consignment_cents, zone_rate


class ZoneRateTest(unittest.TestCase):
    def test_lightest_band_of_a_zone_one_country(self):
        self.assertEqual(zone_rate("AT", 200), 470)

    def test_country_codes_are_normalised(self):
        self.assertEqual(zone_rate(" at ", 200), zone_rate("AT", 200))

    def test_surcharge_zones_pay_eight_percent_more(self):
        self.assertEqual(zone_rate("BG", 200), 724 + round(724 * 0.08))

    def test_unknown_destination_and_overweight_parcels_raise(self):
        with self.assertRaises(KeyError):
            zone_rate("US", 100)
        with self.assertRaises(KeyError):
            zone_rate("AT", 40000)


class ConsignmentTest(unittest.TestCase):
    def test_sums_one_price_per_parcel(self):
        parcels = [{"country": "AT", "grams": 200}, {"country": "AT", "grams": 200}]
        self.assertEqual(consignment_cents(parcels), 940)
