from ipaddress import ip_network

from toutiao.kit.clientip import client_ip

PROXIES = (ip_network("10.0.0.0/8"), ip_network("127.0.0.1/32"), ip_network("fd00::/8"))


def test_untrusted_peer_is_the_client_whatever_it_says():
    assert client_ip("198.51.100.7", "1.2.3.4", PROXIES) == "198.51.100.7"
    assert client_ip("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"


def test_trusted_peer_right_most_untrusted_hop():
    assert client_ip("10.0.0.2", "1.2.3.4", PROXIES) == "1.2.3.4"
    # a client-supplied first entry is skipped: the proxy appended the real address
    assert client_ip("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.9", PROXIES) == "1.2.3.4"


def test_all_hops_trusted_gives_the_left_most():
    assert client_ip("10.0.0.2", "10.1.1.1, 10.0.0.9", PROXIES) == "10.1.1.1"


def test_garbage_stops_the_walk_and_ports_and_ipv6_are_handled():
    assert client_ip("10.0.0.2", "junk, 1.2.3.4:5555", PROXIES) == "1.2.3.4"
    assert client_ip("10.0.0.2", "1.2.3.4, junk", PROXIES) == "10.0.0.2"
    assert client_ip("fd00::1", "[2001:db8::1]:443", PROXIES) == "2001:db8::1"
    assert client_ip("::ffff:10.0.0.2", "1.2.3.4", PROXIES) == "1.2.3.4"
    assert client_ip(None, "1.2.3.4", PROXIES) == "unknown"
    assert len(client_ip("2001:db8:0:0:0:0:0:1", None, PROXIES)) <= 45
