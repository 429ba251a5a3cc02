import unittest

from wire.frames import decode_frame, encode_frame


class FrameTest(unittest.TestCase):
    def test_round_trip(self):
        readings = [{"sensor": 7, "at": 1700000000, "value": 21.5}]
        self.assertEqual(decode_frame(encode_frame(readings)), readings)

    def test_an_empty_frame_is_only_the_count(self):
        self.assertEqual(encode_frame([]), b"\x00\x00\x00\x00")
