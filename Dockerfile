# syntax=docker/dockerfile:1
# One image for every process; the command picks the role:
#   web:     agentpm serve --host 0.0.0.0 --port 3000   (the default CMD)
#   worker:  agentpm worker
#   beat:    agentpm beat
#   migrate: agentpm migrate upgrade                     (run once before the others start)

# ---- builder: install the app and its pinned dependencies into a venv --------------------------
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY bot/ bot/
COPY core/ core/
COPY tasks/ tasks/
COPY migrations/ migrations/

# requirements.lock pins every transitive dependency; as constraints it installs only what the app needs
# (not the dev extras) at exactly the locked versions.
RUN pip install --no-cache-dir -c requirements.lock .

# ---- runtime: the venv only, run as a non-root user ---------------------------------------------
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 agentpm \
 && useradd --system --uid 10001 --gid agentpm --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin agentpm \
 && mkdir -p /app \
 && chown agentpm:agentpm /app

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    AGENTPM_ENV=production

EXPOSE 3000

# Liveness of the web process (no I/O behind it). Worker and beat containers disable it in compose.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/api/v1/health', timeout=2).status == 200 else 1)"

USER agentpm
ENTRYPOINT ["agentpm"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
