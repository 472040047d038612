"""Podman on a CI machine without Docker or a registry: tools, a containers.conf of our own, the
local base image standing in for python:3.11-slim, and the project's image (../shared notes in
docs/containers.md)."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile

BASE_IMAGE = "localhost/tpuest-base:bookworm"
IMAGE = "localhost/tpuest:test"
TOOLS = {"podman": "podman", "runc": "runc", "debootstrap": "debootstrap", "buildah": "buildah"}
CA_DIR = "/usr/local/share/ca-certificates"
BASE_PATH = "/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def ensure_tools() -> None:
    """Installs podman, runc, debootstrap and buildah with apt when one is missing (CI runs as
    root with apt); raises RuntimeError naming what is missing when that is impossible."""
    missing = [package for tool, package in TOOLS.items() if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"container tests need {missing} (apt-get install as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", *missing], check=True, env=env, capture_output=True
    )


def containers_conf(path: str) -> str:
    """Writes a containers.conf with this machine's limits (the defaults of 1048576 open files
    and processes fail without CAP_SYS_RESOURCE) and runc (crun fails on hybrid cgroups)."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    nofile = 1048576 if nofile == resource.RLIM_INFINITY else nofile
    nproc = pid_max if nproc == resource.RLIM_INFINITY else min(nproc, pid_max)
    with open(path, "w") as f:
        f.write(
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
            '[engine]\nruntime = "runc"\n'
        )
    return path


def podman(*args: str, env: dict, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=env, check=check, **kwargs)


def image_exists(name: str, env: dict) -> bool:
    return podman("image", "exists", name, env=env, check=False).returncode == 0


def build_base(env: dict) -> None:
    """localhost/tpuest-base:bookworm from Debian's mirror with debootstrap: python3 with a venv
    first on PATH (what python:3.11-slim gives a Dockerfile) and this host's extra CA
    certificates (pip goes through the host's proxy). Such a base is never to be pushed."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as rootfs:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                rootfs,
            ],
            check=True,
            capture_output=True,
        )
        if os.path.isdir(CA_DIR):
            shutil.copytree(CA_DIR, os.path.join(rootfs, CA_DIR.lstrip("/")), dirs_exist_ok=True)
        # The chroot's own environment: the host's TMPDIR (pytest's) does not exist in there.
        inside = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        for command in (["update-ca-certificates"], ["python3", "-m", "venv", "/opt/venv"]):
            subprocess.run(
                ["chroot", rootfs, *command], check=True, capture_output=True, env=inside
            )
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        podman(
            "import",
            "--change",
            f"ENV PATH={BASE_PATH}",
            "--change",
            "ENV LANG=C.UTF-8",
            "-",
            BASE_IMAGE,
            env=env,
            stdin=tar.stdout,
            capture_output=True,
        )
        if tar.wait() != 0:
            raise RuntimeError("tar of the debootstrap root failed")


def build_image(context: str, tag: str, env: dict) -> subprocess.CompletedProcess:
    """The repository's Dockerfile built on the local base (--from replaces its FROM)."""
    return podman(
        "build",
        "--isolation",
        "chroot",
        "--from",
        BASE_IMAGE,
        "-t",
        tag,
        context,
        env=env,
        capture_output=True,
        text=True,
    )
