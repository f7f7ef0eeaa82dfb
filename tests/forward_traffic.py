"""Traffic for the port forward tests on the real host: a small TCP and UDP server in a network
namespace of the test's own, a client that asks it from a namespace or from the host itself, and
namespaces linked to a bridge or to the host by veth pairs (vnwt… names, 10.213.x addresses).

Each answer names the server, the protocol, the port it came in on and the address it came from,
so a test sees where a translated connection really landed and who the guest thinks called.
"""

import random
import subprocess
import sys
from dataclasses import dataclass

# argv: the server's name, then its ports; each port answers TCP and UDP.
SERVER = """
import socket, socketserver, sys, threading
name = sys.argv[1]
class Tcp(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        port = self.server.server_address[1]
        self.wfile.write(f"{name} tcp {port} {self.client_address[0]}\\n".encode())
class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        _data, sock = self.request
        port = self.server.server_address[1]
        sock.sendto(f"{name} udp {port} {self.client_address[0]}\\n".encode(), self.client_address)
socketserver.ThreadingTCPServer.allow_reuse_address = True
servers = []
for port in map(int, sys.argv[2:]):
    servers.append(socketserver.ThreadingTCPServer(("0.0.0.0", port), Tcp))
    servers.append(socketserver.ThreadingUDPServer(("0.0.0.0", port), Udp))
for server in servers:
    threading.Thread(target=server.serve_forever, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

# argv: protocol, address, port. Prints the answer; exit status 1 when none came.
CLIENT = """
import socket, sys
proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
try:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(1.0)
        sock.connect((address, port))
        sock.sendall(b"ping\\n")
        print(sock.recv(200).decode().strip())
except OSError as exc:
    print(exc)
    sys.exit(1)
"""


@dataclass(frozen=True)
class Answer:
    server: str
    protocol: str
    port: int  # the port it came in on (the guest's, after translation)
    peer: str  # the address the server saw the call come from


def _in(namespace: str | None, *args: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *args] if namespace else list(args)


def reach(protocol: str, address: str, port: int, namespace: str | None = None) -> Answer | None:
    """Ask `address:port` from `namespace` (None: from the host itself); None: no answer."""
    done = subprocess.run(
        _in(namespace, sys.executable, "-c", CLIENT, protocol, address, str(port)),
        capture_output=True,
        text=True,
        timeout=10,
    )
    if done.returncode != 0:
        return None
    server, proto, got, peer = done.stdout.split()
    return Answer(server, proto, int(got), peer)


def serve(namespace: str, name: str, *ports: int) -> subprocess.Popen:
    """Start the server in `namespace`; returns once it listens. Stop it with `stop`."""
    server = subprocess.Popen(
        _in(namespace, sys.executable, "-c", SERVER, name, *map(str, ports)),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    return server


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(5)


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def linked_namespace(address: str, peer: str, *, bridge: str = "") -> tuple[str, str]:
    """A namespace (vnwt…) whose eth0 has `address` (a.b.c.d/len) and a default route via
    `peer`, joined by a veth pair to `bridge`, or with no bridge to the host, whose end gets
    `peer` itself. Returns (namespace, the host's end). Remove it with `remove_namespace`."""
    tag = f"{random.randrange(16**6):06x}"
    namespace, host_end, inner = f"vnwt{tag}", f"vnwtl{tag}", f"vnwtm{tag}"
    try:
        run("ip", "netns", "add", namespace)
        run("ip", "link", "add", host_end, "type", "veth", "peer", "name", inner)
        run("ip", "link", "set", inner, "netns", namespace)
        run("ip", "-n", namespace, "link", "set", inner, "name", "eth0")
        run("ip", "-n", namespace, "addr", "add", address, "dev", "eth0")
        run("ip", "-n", namespace, "link", "set", "eth0", "up")
        if bridge:
            run("ip", "link", "set", host_end, "master", bridge)
        else:
            run("ip", "addr", "add", f"{peer}/{address.split('/')[1]}", "dev", host_end)
        run("ip", "link", "set", host_end, "up")
        run("ip", "-n", namespace, "route", "add", "default", "via", peer)
    except BaseException:
        remove_namespace(namespace, host_end)
        raise
    return namespace, host_end


def remove_namespace(namespace: str, host_end: str) -> None:
    """Deleting the namespace deletes its veth end, and so the pair; the host's end is deleted
    too in case the namespace was never made."""
    subprocess.run(["ip", "netns", "del", namespace], capture_output=True)
    subprocess.run(["ip", "link", "del", host_end], capture_output=True)
