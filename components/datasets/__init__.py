"""Datasets shipped with the package (Palmer penguins, with its NA rows)."""

import os


def penguins_csv() -> str:
    """Path of the embedded penguins.csv (344 rows, label `species`)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "penguins.csv")
