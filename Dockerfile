# One image for every process; EXTRAS picks what gets installed
# (e.g. --build-arg EXTRAS=slides for a slim slides image).
FROM python:3.11-slim
ARG EXTRAS=all
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY micrographia micrographia
COPY common common
COPY services services
COPY edge edge
RUN pip install ".[${EXTRAS}]"
USER 1000
# Each Deployment sets its own command (python -m services.<name> or python -m edge).
CMD ["python", "-m", "edge"]
