"""Sensor uplink: readings packed into one binary frame for the gateway."""

import struct

_READING = struct.Struct("<HId")


def encode_frame(readings):
    """A frame: a 4-byte count, then (sensor id, unix time, value) per online reading."""
    body = b""
    count = 0
    for reading in readings:
        if not reading.get("online", True):
            continue
        body += _READING.pack(reading["sensor"], reading["at"], reading["value"])
        count += 1
    return struct.pack("<I", count) + body


def decode_frame(frame):
    """The readings of a frame, as encode_frame was given them."""
    (count,) = struct.unpack_from("<I", frame)
    fields = ("sensor", "at", "value")
    offsets = (4 + i * _READING.size for i in range(count))
    return [dict(zip(fields, _READING.unpack_from(frame, at), strict=True)) for at in offsets]
