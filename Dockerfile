# Outreach Bot: one process, one sqlite file on a volume.
#
#   docker build -t outreach-bot .
#   docker run -d --name outreach-bot --env-file .env -v outreach-data:/data outreach-bot
#   docker run ... -p 127.0.0.1:8443:8443 outreach-bot run --webhook   # webhook mode
#
# Only the code and the campaign are copied (never .env, .venv or data/): the token comes from
# the environment at run time, and the database lives on the /data volume.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY storage ./storage
COPY content ./content
RUN pip install . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin outreach \
    && mkdir /data && chown outreach /data

USER outreach
# Inside a container the webhook server must listen on all of the container's interfaces;
# publish the port on the host's loopback only, behind the reverse proxy (see README).
# The fitted FAQ classifiers (storage/fitted.py) are kept on the volume too: a restart reads
# them back instead of fitting for a few seconds a language.
ENV DATABASE_PATH=/data/outreach.sqlite3 \
    XDG_CACHE_HOME=/data/cache \
    CONTENT_DIR=/app/content \
    WEBHOOK_LISTEN=0.0.0.0 \
    WEBHOOK_PORT=8443
VOLUME ["/data"]
EXPOSE 8443

# `run` polls Telegram; `run --webhook` serves the WEBHOOK_* settings and answers /healthz.
# Other commands work the same way: `docker exec outreach-bot python -m bot doctor`.
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
