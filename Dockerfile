# One image for every vnetweb process: web (the default CMD), Celery workers and beat.
# docker-compose.yml shows how they are started; docs/deployment.md explains the set-up.
# Python is Debian 12's own (3.11), as under `make run`: no image but debian:bookworm-slim is
# needed, which `make compose-check` can make without a registry (scripts/compose-images.sh).

# ---- builder: a virtualenv with every requirement; libvirt-python compiles against libvirt 9.0.0 --
FROM debian:bookworm-slim AS builder

# libc6-dev is only a Recommends of gcc; with --no-install-recommends it must be named.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv python3-dev libvirt-dev pkg-config gcc libc6-dev ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Behind a proxy that re-signs TLS, pip must trust the proxy's CA: pass its certificates (PEM) with
#   --build-arg EXTRA_CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt)"
# They are trusted in this stage only; the final image never holds them.
ARG EXTRA_CA_CERTS=""
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
        printf '%s\n' "$EXTRA_CA_CERTS" >/usr/local/share/ca-certificates/build-extra.crt \
        && update-ca-certificates >/dev/null; \
    fi

# The pins live only in requirements.txt.
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
    && PIP_CERT=/etc/ssl/certs/ca-certificates.crt /opt/venv/bin/pip install --no-cache-dir \
        --disable-pip-version-check -r /tmp/requirements.txt

# ---- final image: runtime libraries only ---------------------------------------------------------
FROM debian:bookworm-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=vnetweb.settings \
    VNETWEB_DATA_DIR=/data \
    VNETWEB_STATIC_ROOT=/app/staticfiles

# python3: the interpreter the builder's virtualenv was made with (same path, same version).
# libvirt0: the client library libvirt-python links to (remote and test drivers included).
# openssh-client: libvirt runs `ssh` for qemu+ssh:// host URIs.
# nftables: the worker reads the host's firewall with `nft -j` (docker-compose.yml's worker).
# iptables: it writes port forwards with iptables-restore, as libvirt writes its own rules.
# python3-gdbm: beat's schedule file (a shelve) in GNU dbm, which writes it at every sync; without
# it Debian's Python falls back to Berkeley DB's ndbm, which keeps it in memory until beat exits,
# and the container's health check (the file's age) would call a working beat dead.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-gdbm libvirt0 openssh-client nftables iptables \
    && rm -rf /var/lib/apt/lists/*

# Web and beat run as this unprivileged user (the image's default USER, below).
# The worker cannot: it talks to the host's system libvirt socket (/var/run/libvirt/libvirt-sock),
# and libvirtd grants read-write access there only to root (or to the host's libvirt group, which
# is root-equivalent on that host anyway). docker-compose.yml therefore runs only the worker as
# root (`user: root`); it is also the only container that gets the socket.
RUN groupadd --system --gid 10001 vnetweb \
    && useradd --system --uid 10001 --gid vnetweb --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin vnetweb

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
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
