"""Benchmarks: the engine against peers measured in the same run (ratios, not absolute times)."""
