"""Sensor uplink: readings packed into one binary frame for the gateway."""

import struct

_READING = struct.Struct("<HId")


def encode_frame(readings):
    """A frame: a 4-byte count, then (sensor id, unix time, value) per reading."""
    parts = [struct.pack("<I", len(readings))]
    for reading in readings:
        parts.append(_READING.pack(reading["sensor"], reading["at"], reading["value"]))
    return b"".join(parts)


def decode_frame(frame):
    """The readings of a frame, as encode_frame was given them."""
    (count,) = struct.unpack_from("<I", frame)
    fields = ("sensor", "at", "value")
    offsets = (4 + i * _READING.size for i in range(count))
    return [dict(zip(fields, _READING.unpack_from(frame, at), strict=True)) for at in offsets]
