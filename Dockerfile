# The tpuest image: the engine, the pipeline steps and the `tpuest` CLI (KFP components run in it).
# Build: docker build -t ghcr.io/tpuest/tpuest:0.1.0 .   (components.image.DEFAULT_IMAGE)
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /src
# Only what the package needs (.dockerignore allows nothing else into the context).
COPY pyproject.toml README.md ./
COPY estimator_core ./estimator_core
COPY components ./components
COPY pipelines ./pipelines
COPY bench ./bench

# Every dependency ships as a wheel: no compiler is installed, so none is left behind.
# The source tree goes once installed; the package lives in site-packages.
RUN pip install --no-cache-dir . \
    && rm -rf /src /root/.cache \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin tpuest

USER 10001:10001
WORKDIR /home/tpuest
ENTRYPOINT ["tpuest"]
CMD ["--help"]
