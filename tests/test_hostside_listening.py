"""The ports the host itself listens on (networks.gateway.hostside.listening), from /proc/net as
the kernel writes it: a port forward may not take them."""

from networks.gateway import hostside

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"


def test_listening_tcp_and_bound_udp_sockets_are_read_with_their_address(tmp_path, monkeypatch):
    net = tmp_path / "net"
    net.mkdir()
    (net / "tcp").write_text(
        HEADER
        + "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0\n"
        # an established connection is not a listener
        + "   1: 0100007F:18EB 0100007F:9C40 01 00000000:00000000 00:00000000 00000000 0\n"
    )
    (net / "tcp6").write_text(
        HEADER
        # ::ffff:192.0.2.5 port 8443, listening
        + "   0: 0000000000000000FFFF0000050200C0:20FB 00000000000000000000000000000000:0000 0A "
        "00000000:00000000 00:00000000 00000000 0\n"
    )
    (net / "udp").write_text(
        HEADER + "   0: 0101D50A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0\n"
    )
    monkeypatch.setattr(hostside, "PROC", tmp_path)
    assert hostside.listening() == [
        {"protocol": "tcp", "address": "0.0.0.0", "port": 22},
        {"protocol": "tcp", "address": "192.0.2.5", "port": 8443},
        {"protocol": "udp", "address": "10.213.1.1", "port": 53},
    ]


def test_a_machine_without_proc_net_listens_on_nothing_known(tmp_path, monkeypatch):
    monkeypatch.setattr(hostside, "PROC", tmp_path)
    assert hostside.listening() == []
