import unittest

from pkg.parse import title, words


class WordsTest(unittest.TestCase):
    def test_words(self):
        self.assertEqual(words(["Hello world", "A-b"]), ["hello", "world", "a", "b"])


class TitleTest(unittest.TestCase):
    def test_apostrophe(self):
        # Fails before any change: the suite is already red.
        self.assertEqual(title("o'neil's dog"), "O'Neil's Dog")
