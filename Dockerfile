# syntax=docker/dockerfile:1
# The leadstream worker image, two targets (docs/operating.md "Containers"):
#
#   docker build --target worker          -t leadstream/worker .           # no browser: lag exporter, CLI,
#                                                                           # groups without enrich/mockup
#   docker build --target worker-chromium -t leadstream/worker-chromium .  # + Debian Chromium: enrich, mockup
#
# Both run as the unprivileged user 10001 with the project in a virtualenv copied from the
# build stage (no compilers or pip caches in the result). Nothing here was built on the
# development machines (no container daemon or builder there); tests/ops lints this file with
# hadolint and checks its structure instead.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---- build: resolve and install the project into /opt/venv ---------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md app.py ./
COPY leadstream ./leadstream
COPY config ./config
COPY schemas ./schemas
COPY streams ./streams
COPY agents ./agents
COPY tables ./tables
COPY stages ./stages
COPY providers ./providers
COPY storage ./storage
COPY simulator ./simulator
# Every dependency ships manylinux wheels for CPython 3.11 (rocksdict, asyncpg, orjson, ...),
# so no compiler is needed; a missing wheel fails the build here rather than at run time.
RUN /opt/venv/bin/pip install --prefer-binary . \
    && /opt/venv/bin/python -c "import app, leadstream.cli"

# ---- worker: the slim runtime ---------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS worker
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LEADSTREAM_DATA_DIR=/data \
    LEADSTREAM_BLOB_DIR=/blobs
RUN groupadd --system --gid 10001 leadstream \
    && useradd --system --uid 10001 --gid leadstream --home-dir /home/leadstream --create-home --shell /usr/sbin/nologin leadstream \
    && mkdir -p /data /blobs \
    && chown leadstream:leadstream /data /blobs
COPY --from=build /opt/venv /opt/venv
WORKDIR /home/leadstream
USER 10001:10001
EXPOSE 6066
ENTRYPOINT ["leadstream"]
CMD ["worker", "--loglevel", "info"]

# ---- worker-chromium: + Debian's Chromium for page renders and mockups ----------------------
FROM worker AS worker-chromium
USER 0:0
# Debian's chromium follows bookworm's security updates; pinning an exact version would stop
# them, so the version is left to the (pinned) base release. Fonts make mockups legible.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium chromium-headless-shell fonts-liberation fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
ENV LEADSTREAM_CHROMIUM_PATH=/usr/bin/chromium-headless-shell
USER 10001:10001
