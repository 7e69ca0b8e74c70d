# syntax=docker/dockerfile:1
# The Frontdesk app: `frontdesk serve` on 0.0.0.0:8000, configured by the environment
# (README.md, "Environment"). It never imports Rasa: set RASA_URL to the Rasa servers
# (deploy/rasa.Dockerfile). Build from the repository root:
#   docker build -f deploy/app.Dockerfile -t frontdesk-app .

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY routing ./routing
COPY nlu ./nlu
RUN python -m venv /opt/frontdesk && /opt/frontdesk/bin/pip install .

FROM python:3.11-slim-bookworm
RUN useradd --create-home --home-dir /home/frontdesk --uid 10001 --user-group frontdesk
COPY --from=build /opt/frontdesk /opt/frontdesk
# The example config; mount your own over it (deploy/compose.yml does).
COPY config.yml /etc/frontdesk/config.yml
ENV PATH=/opt/frontdesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FRONTDESK_CONFIG=/etc/frontdesk/config.yml \
    FRONTDESK_HOME=/home/frontdesk/data
USER frontdesk
WORKDIR /home/frontdesk
EXPOSE 8000
# /healthz answers 200 only while the database does.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["frontdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
