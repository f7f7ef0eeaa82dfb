"""A TCP listener that hands each connection to libvirtd's READ-ONLY socket, for the benches' fake
remote hosts (bench/_failing.py): `qemu+tcp://ADDR:PORT/system` then reaches this machine's
libvirtd without libvirtd listening on TCP itself.

    .venv/bin/python bench/_forward.py ADDRESS PORT[,PORT…] [SOCKET]

The socket defaults to /run/libvirt/libvirt-sock-ro, which libvirtd serves read-only whoever
connects (it is mode 0777 already: nothing new is exposed): a define, start or stop through the
forwarder fails with "read only access prevents …". Run in a network namespace (`ip netns exec`)
to put the host behind a veth whose packets can be dropped. Each port is a host of its own to
vnetweb (a URI, a connection per worker). Stops on SIGTERM.
"""

import asyncio
import signal
import sys

READ_ONLY_SOCKET = "/run/libvirt/libvirt-sock-ro"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def _serve_one(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter, socket_path: str
) -> None:
    try:
        lv_reader, lv_writer = await asyncio.open_unix_connection(socket_path)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, lv_writer), _pipe(lv_reader, client_writer))


async def main(address: str, ports: list[int], socket_path: str) -> None:
    servers = [
        await asyncio.start_server(
            lambda r, w: _serve_one(r, w, socket_path), address, port, reuse_address=True
        )
        for port in ports
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"forwarding {address}:{ports} to {socket_path}", flush=True)
    await stop.wait()
    for server in servers:
        server.close()


if __name__ == "__main__":
    ports = [int(port) for port in sys.argv[2].split(",")]
    asyncio.run(main(sys.argv[1], ports, sys.argv[3] if len(sys.argv) > 3 else READ_ONLY_SOCKET))
