"""Session fixtures for the container tests: podman set up for this machine, the image built
from the repository's Dockerfile, and podman's Docker API for `--runner docker`."""

import os
import subprocess
import time

import pytest

from tests.containers import podman

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def podman_env(tmp_path_factory):
    """The environment podman commands run with (CONTAINERS_CONF: this machine's limits)."""
    podman.ensure_tools()
    conf = podman.containers_conf(str(tmp_path_factory.mktemp("podman") / "containers.conf"))
    return dict(os.environ, CONTAINERS_CONF=conf)


@pytest.fixture(scope="session")
def image(podman_env):
    """localhost/tpuest:test built from the repository's Dockerfile on the local base (kept
    between sessions on the same machine: debootstrap runs only when the base is missing)."""
    timings = {}
    if not podman.image_exists(podman.BASE_IMAGE, podman_env):
        started = time.monotonic()
        podman.build_base(podman_env)
        timings["base"] = time.monotonic() - started
    started = time.monotonic()
    built = podman.build_image(ROOT, podman.IMAGE, podman_env)
    timings["image"] = time.monotonic() - started
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"\ncontainer builds (s): {timings}")  # shown with -s; recorded in docs/containers.md
    return podman.IMAGE


@pytest.fixture(scope="session")
def docker_host(podman_env, tmp_path_factory):
    """DOCKER_HOST of a `podman system service` started for the session (ended by its pid)."""
    socket = tmp_path_factory.mktemp("api") / "podman.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"],
        env=podman_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):  # the socket appears once the service listens
            if socket.exists() or service.poll() is not None:
                break
            time.sleep(0.1)
        assert socket.exists(), f"podman system service exited with {service.poll()}"
        yield f"unix://{socket}"
    finally:
        service.terminate()
        service.wait()
