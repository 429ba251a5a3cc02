import unittest

from tags.normalize import clean_tags


class CleanTagsTest(unittest.TestCase):
    def test_normalises_and_keeps_first_order(self):
        self.assertEqual(clean_tags(["#Sunset", " beach ", "sunset"]), ["sunset", "beach"])

    def test_reserved_and_empty_tags_are_dropped(self):
        self.assertEqual(clean_tags(["Admin", "", "#", "lighthouse", "login"]), ["lighthouse"])
