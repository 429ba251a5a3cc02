"""Trimmed for this case: itertoolz needs no other module."""
