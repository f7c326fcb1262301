# Wegwijzer in a container (Docker or Podman): Python slim, the project in a venv, a user
# without privileges, the database on a volume, and a HEALTHCHECK on /healthz.
#
#   docker build -t wegwijzer .
#   docker run -d --name wegwijzer --restart on-failure --env-file wegwijzer.env \
#     -v wegwijzer-data:/data wegwijzer
#
# wegwijzer.env holds the WEGWIJZER_* settings (README, "Configuration"): a Telegram token
# and/or the Matrix account, the desk rooms, the encryption keys. Without a platform the bot
# would be a terminal chat, which a detached container cannot have. See README, "Deployment".
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The bot's own user; /data (the database, the Matrix key store) is the only place it writes.
RUN useradd --system --user-group --home-dir /data --shell /usr/sbin/nologin wegwijzer \
 && install -d -o wegwijzer -g wegwijzer -m 0700 /data

# The code stays root's and read-only to the bot; installed editable, so the flows and
# texts are found next to it (bot/settings.py, ROOT).
WORKDIR /opt/wegwijzer
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN python -m venv .venv && .venv/bin/pip install --quiet -e .
COPY flows ./flows
COPY locales ./locales

# The flows come with the image: no file watcher (SIGHUP still reloads them). The health
# server answers inside the container only (127.0.0.1); set WEGWIJZER_HEALTH_HOST=0.0.0.0
# (and WEGWIJZER_TELEGRAM_WEBHOOK_LISTEN=0.0.0.0 for a webhook) to publish a port.
ENV PATH=/opt/wegwijzer/.venv/bin:$PATH \
    WEGWIJZER_DB=/data/wegwijzer.sqlite3 \
    WEGWIJZER_MATRIX_STORE=/data/matrix-store \
    WEGWIJZER_YAML_CACHE=/data/cache/parsed-yaml \
    WEGWIJZER_WATCH_FLOWS=false \
    WEGWIJZER_HEALTH_PORT=8080

USER wegwijzer
VOLUME ["/data"]

# Liveness only (is the event loop answering?): a database or platform outage is /readyz's
# business, and restarting would not cure it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('WEGWIJZER_HEALTH_PORT', '8080'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status != 200)"]

CMD ["python", "-m", "bot", "run"]
