"""The sha256 of a diff, as decisions pin it and caches key on it.

One encoding everywhere: UTF-8, with "surrogatepass" so a diff holding a lone surrogate (a
model's JSON may carry one) still hashes instead of raising. For ordinary text every UTF-8
encoding agrees, so hashes stored before this module existed stay valid.
"""

from __future__ import annotations

import hashlib


def text_sha256(text: str) -> str:
    """Hex sha256 of any Python string's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def diff_sha256(diff_text: str) -> str:
    """What a reviewer pins a decision to: the sha256 of the diff they read."""
    return text_sha256(diff_text)
