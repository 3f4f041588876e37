# One image for every process; EXTRAS picks what gets installed
# (e.g. --build-arg EXTRAS=slides for a slim slides image).
# The web app's npm assets (OpenSeadragon), so the edge serves it offline.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ARG EXTRAS=all
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY micrographia micrographia
COPY common common
COPY services services
COPY edge edge
COPY web/src web/src
COPY --from=web /web/node_modules web/node_modules
RUN pip install ".[${EXTRAS}]"
USER 1000
# Each Deployment sets its own command (python -m services.<name> or python -m edge).
CMD ["python", "-m", "edge"]
