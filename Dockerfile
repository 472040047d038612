# The tpuest image: the engine, the pipeline steps and the `tpuest` CLI (KFP components run in it).
# Build: docker build -t ghcr.io/tpuest/tpuest:0.1.0 .   (components.image.DEFAULT_IMAGE)
# Without a registry: podman build --from localhost/tpuest-base:bookworm .  (--from replaces this
# first FROM only; docs/containers.md)
FROM python:3.11.11-slim-bookworm AS base

# MPLCONFIGDIR: matplotlib's cache on the tmpfs /tmp, so a --read-only root runs without warnings.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MPLCONFIGDIR=/tmp/matplotlib

# The dependencies' list read off pyproject.toml: the install layer below is rebuilt when the
# list changes, not when anything else in pyproject.toml does.
FROM base AS requirements
COPY pyproject.toml /tmp/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" > /requirements.txt

# The package as a wheel, in a stage of its own: its sources never reach the final image.
FROM base AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY estimator_core ./estimator_core
COPY components ./components
COPY pipelines ./pipelines
COPY bench ./bench
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheel . \
    && sha256sum /wheel/*.whl > /wheel.sha256

FROM base
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin tpuest

# The dependencies in a layer of their own: a change to the sources rebuilds only the small
# layers below.
COPY --from=requirements /requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm -rf /tmp/requirements.txt /root/.cache

# The wheel's digest (64 bytes) makes a new wheel rebuild the install layer (a bind mount alone
# does not change the build cache's key everywhere); the wheel itself is mounted, not copied.
COPY --from=wheel /wheel.sha256 /tmp/wheel.sha256
RUN --mount=type=bind,from=wheel,source=/wheel,target=/wheel \
    pip install --no-cache-dir --no-deps /wheel/*.whl \
    && rm -rf /root/.cache /tmp/wheel.sha256

USER 10001:10001
WORKDIR /home/tpuest
ENTRYPOINT ["tpuest"]
CMD ["--help"]
