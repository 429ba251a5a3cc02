"""Reads that need permission or care; every view fetches through one of these."""
