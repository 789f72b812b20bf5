"""Which addresses a process tree listens on, read from ``/proc`` (Linux; standard library only).

Every local service must listen on loopback only. ``python3 devstack/bindings.py PID…``
lists the listening TCP sockets (and bound UDP sockets) of those processes and
their descendants, and exits 1 naming any that is reachable from outside the
machine. ``localstack/run-host.sh`` runs it after starting LocalStack; the tests
run it against ``make up`` and its PostgreSQL.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def _descendants(pids: list[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    return inodes


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def listeners(pids: list[int]) -> list[tuple[str, str, int]]:
    """``(protocol, address, port)`` of every listening TCP / bound UDP socket of ``pids`` and descendants."""
    inodes = _socket_inodes(_descendants(pids))
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode not in inodes or (proto.startswith("tcp") and state != _LISTEN):
                continue
            host, port = local.split(":")
            found.append((proto, _address(host), int(port, 16)))
    return sorted(set(found))


def exposed(pids: list[int]) -> list[tuple[str, str, int]]:
    """The listeners not on a loopback address."""
    return [item for item in listeners(pids) if not ipaddress.ip_address(item[1]).is_loopback]


def main(argv: list[str]) -> int:
    pids = [int(a) for a in argv]
    if not pids:
        print("usage: bindings.py PID [PID…]", file=sys.stderr)
        return 2
    bad = exposed(pids)
    for proto, address, port in listeners(pids):
        flag = "  NOT LOOPBACK" if (proto, address, port) in bad else ""
        print(f"{proto:5} {address}:{port}{flag}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
