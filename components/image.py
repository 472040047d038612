"""The container image every KFP component runs in: one default, overridable by TPUEST_IMAGE."""

import os

DEFAULT_IMAGE = "ghcr.io/tpuest/tpuest:0.1.0"


def image() -> str:
    """The configured project image (TPUEST_IMAGE wins over the default)."""
    return os.environ.get("TPUEST_IMAGE", DEFAULT_IMAGE)
