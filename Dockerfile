# One Dockerfile, one image per service. EXTRAS picks the service's dependencies,
# SERVICE the module the image runs, BASE the Python runtime underneath:
#
#   docker build --build-arg EXTRAS=slides --build-arg SERVICE=services.slides -t micrographia-slides .
#   docker build --build-arg EXTRAS=edge --build-arg SERVICE=edge -t micrographia-edge .
#   docker build --build-arg EXTRAS=microscopy,analysis -t micrographia-worker .   # Dask
#   docker build --build-arg EXTRAS=inference --build-arg SERVICE=services.inference \
#       --build-arg BASE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime -t micrographia-inference .
#
# The inference image runs on a CUDA runtime base whose PyTorch (Python 3.11)
# the virtualenv reuses, so the wheels are not installed twice.
ARG BASE=python:3.11-slim-bookworm

# The web app's npm assets (OpenSeadragon), so the edge serves it offline.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM ${BASE} AS build
ARG EXTRAS=all
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
# --system-site-packages: see the base's own PyTorch (a no-op on python:slim).
RUN python -m venv --system-site-packages /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY micrographia micrographia
COPY common common
COPY services services
COPY edge edge
COPY cli cli
RUN /opt/venv/bin/pip install --no-cache-dir ".[${EXTRAS}]"

# The final stage: the base, the virtualenv, a named user. No sources, no
# compilers, no pip cache.
FROM ${BASE}
ARG SERVICE=edge
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MICROGRAPHIA_MODULE=${SERVICE}
# A fixed uid/gid, matching the pods' securityContext (runAsUser: 10001).
RUN groupadd --system --gid 10001 micrographia \
    && useradd --system --uid 10001 --gid micrographia --create-home --home-dir /home/micrographia micrographia
COPY --from=build /opt/venv /opt/venv
# The web app (the edge serves it; other images carry its few files unused).
COPY web/src /opt/micrographia-web/src
COPY --from=web /web/node_modules /opt/micrographia-web/node_modules
ENV MICROGRAPHIA_WEB_DIR=/opt/micrographia-web
# Numeric, so the kubelet can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/micrographia
# gRPC services listen on 50051-50055, the edge on 8000; Deployments set their own command.
CMD ["sh", "-c", "exec python -m \"$MICROGRAPHIA_MODULE\""]
