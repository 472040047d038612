"""Local runs with every step in the project's image, through the Docker API DOCKER_HOST names.

kfp.local's DockerRunner as it comes cannot run our steps: the image's ENTRYPOINT turns KFP's
command into `tpuest sh -ec ...`, only the pipeline root is mounted (not the inputs, the module
file or the export base), and a failed task is reported as SUCCESS when the container removed
itself before its exit code was read (kubeflow/pipelines#13332). Here the entrypoint is
cleared, each directory a step reads or writes is mounted at its own path, and the container is
kept until its exit code is read, then removed (by a watchdog if the run is SIGKILLed).
Containers run with a read-only root, no capabilities and no network, as the host user (so what
they write belongs to whoever started the run).
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import glob
import os
from collections.abc import Iterable, Iterator

from estimator_core.check_model import module_path
from pipelines import task_process

_REMOVE = "import docker\ndocker.from_env().containers.get({id!r}).remove(force=True)\n"


class DockerUnavailableError(RuntimeError):
    """No Docker API answers, or the image is not there."""


def client():
    """A Docker API client for DOCKER_HOST (Docker, or `podman system service`)."""
    try:
        import docker
    except ImportError:
        raise DockerUnavailableError(
            "--runner docker needs the `docker` package: pip install 'tpuest[docker]'"
        ) from None
    where = os.environ.get("DOCKER_HOST", "the default socket")
    try:
        found = docker.from_env()
        found.ping()
    except docker.errors.DockerException as e:
        raise DockerUnavailableError(
            f"no Docker API at {where} ({e}); start Docker, or run `podman system service "
            "--time=0 unix:///PATH/podman.sock &` and set DOCKER_HOST=unix:///PATH/podman.sock"
        ) from None
    return found


def check_image(image: str) -> None:
    """Raises DockerUnavailableError unless `image` is present locally (no pull: a run should
    not download gigabytes on its own; pull or build it first)."""
    import docker

    with contextlib.closing(client()) as docker_client:
        try:
            docker_client.images.get(image)
        except docker.errors.ImageNotFound:
            raise DockerUnavailableError(
                f"image {image!r} is not present at the Docker API: build it "
                f"(`docker build -t {image} .` in the repository) or pull it first"
            ) from None


def mount_dirs(paths: list[str]) -> list[str]:
    """The directories that hold `paths` (files or directories), without those inside another."""
    dirs = sorted(
        {os.path.realpath(p if os.path.isdir(p) else os.path.dirname(p) or ".") for p in paths}
    )
    kept: list[str] = []
    for d in dirs:
        if not any(d == k or d.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(d)
    return kept


def step_paths(input_pattern: str, module_file: str) -> list[str]:
    """The host paths a run's steps read: every input file and the module file (when it is a
    file; a module name must be importable inside the image)."""
    inputs = [
        path
        for pattern in input_pattern.split(",")
        if pattern.strip()
        for path in glob.glob(os.path.abspath(pattern.strip()))
    ]
    if module_file and (module_file.endswith(".py") or os.sep in module_file):
        inputs.append(module_path(module_file))
    return inputs


def runner(*, read_only: list[str], writable: list[str], user: str | None = None):
    """A kfp.local.DockerRunner mounting `read_only` and `writable` directories at their own
    paths (kfp mounts the pipeline root itself), as `user` (default: this process's uid:gid)."""
    import docker
    from kfp import local

    mounts = [docker.types.Mount(d, d, type="bind", read_only=True) for d in read_only]
    mounts += [docker.types.Mount(d, d, type="bind") for d in writable]
    return local.DockerRunner(
        entrypoint=[""],  # the image's ENTRYPOINT ["tpuest"] would swallow KFP's command
        mounts=mounts,
        user=user or f"{os.getuid()}:{os.getgid()}",
        environment={"HOME": "/tmp", "TMPDIR": "/tmp"},  # the only writable place but the mounts
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        network_mode="none",
    )


def run_container(client, image, command, volumes, *, use_image: str, **run_args) -> int:
    """kfp's run_docker_container with the exit code read before the container is removed, and
    `use_image` instead of the components' declared image. Streams the container's output."""
    import docker

    del image  # the components declare components.image.image(); the run chose `use_image`
    for run_only in ("auto_remove", "detach", "remove", "stdout", "stderr"):
        run_args.pop(run_only, None)
    # Created, then started inside the try: a container the daemon refuses to start is removed
    # too (containers.run would leave it behind in the "Created" state).
    container = client.containers.create(
        image=use_image, command=command, volumes=volumes, **run_args
    )
    # A SIGKILLed run cannot remove its container: the watchdog does (DOCKER_HOST inherited).
    guard = task_process.watchdog(_REMOVE.format(id=container.id), site=True)
    try:
        container.start()
        for line in whole_lines(container.logs(stream=True, follow=True)):
            print(line, end="")
        return int(container.wait()["StatusCode"])
    finally:  # also on Ctrl-C or SIGTERM: the step ends with the run
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
        task_process.done(guard)


def whole_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The text of a container's log `chunks` as whole lines. The Docker API cuts its stream
    anywhere (mid-line, mid-character), and kfp.local indents each write it sees: printed chunk
    by chunk, a step's error would reach the run's report with spaces inside it."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def container_run(image: str):
    """The function kfp_local_fixes.applied() puts in place of kfp's run_docker_container."""
    return functools.partial(run_container, use_image=image)
