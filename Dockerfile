# syntax=docker/dockerfile:1
# One image for every vnetweb process: web (the default CMD), Celery workers and beat.
# docker-compose.yml shows how they are started; docs/deployment.md explains the set-up.

# ---- builder: compile libvirt-python (an sdist) against Debian 12's libvirt 9.0.0 -------------
FROM python:3.11-slim-bookworm AS builder

# libc6-dev is only a Recommends of gcc; with --no-install-recommends it must be named.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libvirt-dev pkg-config gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

# Wheels for every requirement (downloaded or built here), so the final stage needs no compiler.
COPY requirements.txt /tmp/requirements.txt
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt

# ---- final image: runtime libraries only ---------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=vnetweb.settings \
    VNETWEB_DATA_DIR=/data \
    VNETWEB_STATIC_ROOT=/app/staticfiles

# libvirt0: the client library libvirt-python links to (remote and test drivers included).
# openssh-client: libvirt runs `ssh` for qemu+ssh:// host URIs.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libvirt0 openssh-client \
    && rm -rf /var/lib/apt/lists/*

# Web and beat run as this unprivileged user (the image's default USER, below).
# The worker cannot: it talks to the host's system libvirt socket (/var/run/libvirt/libvirt-sock),
# and libvirtd grants read-write access there only to root (or to the host's libvirt group, which
# is root-equivalent on that host anyway). docker-compose.yml therefore runs only the worker as
# root (`user: root`); it is also the only container that gets the socket.
RUN groupadd --system --gid 10001 vnetweb \
    && useradd --system --uid 10001 --gid vnetweb --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin vnetweb

WORKDIR /app

# The pins live only in requirements.txt; the wheels come from the builder stage.
COPY requirements.txt .
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -r requirements.txt

COPY . .

# Static files are collected into the image (VNETWEB_STATIC_ROOT) and served by WhiteNoise.
# Settings need a secret key to load: this throw-away one exists for this RUN only. Without it the
# settings would generate one and write it into VNETWEB_DATA_DIR (/data), baking it into the image.
# /data (the data directory: celerybeat-schedule, initial-admin-password) belongs to vnetweb,
# mode 0700, so a named volume mounted there starts out writable for web and beat and closed to
# everyone else.
RUN VNETWEB_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
    && install -d -m 0700 -o vnetweb -g vnetweb /data

USER vnetweb
EXPOSE 8000

# Worker class, workers and timeouts: gunicorn.conf.py in the working directory.
CMD ["gunicorn", "vnetweb.asgi:application", "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
