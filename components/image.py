"""The container image every KFP component runs in: one default, overridable by TPUEST_IMAGE."""

import os
from importlib import metadata

DEFAULT_IMAGE = "ghcr.io/tpuest/tpuest:0.1.0"


def image() -> str:
    """The configured project image (TPUEST_IMAGE wins over the default)."""
    return os.environ.get("TPUEST_IMAGE", DEFAULT_IMAGE)


def package_version() -> str:
    """The installed tpuest version (code provenance next to the image), "unknown" if none."""
    try:
        return metadata.version("tpuest")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "unknown"
