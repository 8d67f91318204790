"""The client's address: the direct peer, or what a trusted proxy says in X-Forwarded-For.

A peer that is not one of the trusted proxies (``TOUTIAO_TRUSTED_PROXIES``) is the client,
whatever headers it sends, so nobody can pick the address that rate limits and the audit
log see. Behind trusted proxies the client is the right-most ``X-Forwarded-For`` entry that
is not itself a trusted proxy (each proxy appends the address it received the request from).
The servers run without uvicorn's own proxy-header rewriting, so the peer is the real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

Network = IPv4Network | IPv6Network

UNKNOWN = "unknown"


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.partition(":")[0]
    try:
        address = ip_address(value)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPv4Address | IPv6Address, proxies: Sequence[Network]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def client_ip(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client address as text (at most 45 characters), ``"unknown"`` without a peer."""
    address = _parse(peer) if peer else None
    if address is None:
        return (peer or UNKNOWN)[:45]
    if not forwarded_for or not _trusted(address, proxies):
        return str(address)
    for hop in reversed(forwarded_for.split(",")):
        candidate = _parse(hop)
        if candidate is None:  # garbage in the chain: stop at the last address we trust
            break
        address = candidate
        if not _trusted(candidate, proxies):
            break
    return str(address)
