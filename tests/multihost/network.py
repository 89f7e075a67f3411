"""Several "hosts" on this one machine: Linux network namespaces joined to the root namespace by
veth pairs, each with an address of its own, so processes in them reach each other only over
IP, as on separate machines (traffic stays on loopback and these links).

    root namespace                              namespace tgh-<pid>-w1
    services 10.77.S.1 (own veth)  <-- veth --> 10.77.(S+1).2  (default route via .1)
      PostgreSQL (forwarded by socat), Redis,   namespace tgh-<pid>-w2 ... 10.77.(S+2).2
      the central simulator

The databases here listen on 127.0.0.1 only, which a namespace cannot reach; PostgreSQL is
forwarded by socat (a TCP relay, bounded to the service address) and Redis and the simulator
are started by the caller bound to the service address itself.

Names carry the owner's pid (`tgh-<pid>-<host>`; links `tgh<pid>...`), so concurrent runs never
collide and a later run removes what a killed one left behind. Root is required.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "tgh-"


def available() -> str | None:
    """Why namespaces cannot be made here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root (ip netns add)"
    if not shutil.which("ip"):
        return "needs the `ip` command (iproute2)"
    if not shutil.which("socat"):
        return "needs socat (apt-get install socat) to forward PostgreSQL into the namespaces"
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ns_pids(ns: str) -> list[int]:
    out = ip("netns", "pids", ns, check=False).stdout
    return [int(p) for p in out.split()]


def remove_stale() -> list[str]:
    """Remove namespaces and links left by runs whose process is gone (killed mid-run)."""
    removed = []
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.fullmatch(rf"{PREFIX}(\d+)-\w+", name)
        if m and not _alive(int(m.group(1))):
            for pid in ns_pids(name):
                _kill(pid)
            ip("netns", "del", name, check=False)
            removed.append(name)
    for line in ip("-o", "link", "show", check=False).stdout.splitlines():
        m = re.match(r"\d+: (tgh(\d+)[a-z]\w*)[@:]", line)
        if m and not _alive(int(m.group(2))):
            ip("link", "del", m.group(1), check=False)
            removed.append(m.group(1))
    return removed


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class Host:
    name: str
    ns: str
    address: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


@dataclass
class Network:
    """Build with `Network.create(...)`; always `close()` (a context manager does)."""

    owner: int
    subnet: int
    service_address: str
    hosts: dict[str, Host] = field(default_factory=dict)
    relays: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _links: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, host_names: Sequence[str]) -> Network:
        remove_stale()
        owner = os.getpid()
        used = ip("-o", "-4", "addr", "show", check=False).stdout
        subnet = 20 + owner % 200
        while any(f"10.77.{subnet + k}." in used for k in range(len(host_names) + 1)):
            subnet = 20 + (subnet + len(host_names) + 1 - 20) % 200
        net = cls(owner=owner, subnet=subnet, service_address=f"10.77.{subnet}.1")
        try:
            # The service address sits on a veth pair of its own in the root namespace (the
            # `dummy` link type needs a kernel module that containers often lack).
            service, peer = f"tgh{owner}s", f"tgh{owner}t"
            ip("link", "add", service, "type", "veth", "peer", "name", peer)
            net._links.append(service)
            ip("addr", "add", f"{net.service_address}/32", "dev", service)
            ip("link", "set", service, "up")
            ip("link", "set", peer, "up")
            for i, name in enumerate(host_names, start=1):
                net._add_host(name, i)
        except BaseException:
            net.close()
            raise
        return net

    def _add_host(self, name: str, index: int) -> None:
        ns = f"{PREFIX}{self.owner}-{name}"
        outer, inner = f"tgh{self.owner}h{index}", f"tgh{self.owner}p{index}"
        net = f"10.77.{self.subnet + index}"
        ip("netns", "add", ns)
        self.hosts[name] = Host(name=name, ns=ns, address=f"{net}.2")
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        self._links.append(outer)
        ip("link", "set", inner, "netns", ns)
        ip("addr", "add", f"{net}.1/24", "dev", outer)
        ip("link", "set", outer, "up")
        for args in (("link", "set", "lo", "up"),
                     ("addr", "add", f"{net}.2/24", "dev", inner),
                     ("link", "set", inner, "up"),
                     ("route", "add", "default", "via", f"{net}.1")):
            ip("netns", "exec", ns, "ip", *args)

    # --- processes ---------------------------------------------------------------------------
    def forward(self, port: int, *, to_host: str = "127.0.0.1", to_port: int | None = None,
                log: Path | None = None) -> None:
        """Relay service_address:port to a server that listens on loopback only (socat: a
        small C relay, one child per connection, killed with its process group at close)."""
        with (log or Path(os.devnull)).open("ab") as out:  # the child keeps its own fd
            self.relays.append(subprocess.Popen(
                ["socat",
                 f"TCP-LISTEN:{port},bind={self.service_address},reuseaddr,fork,backlog=512",
                 f"TCP:{to_host}:{to_port or port}"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            ))
        deadline = time.monotonic() + 10
        while f"{self.service_address}:{port}" not in subprocess.run(
                ["ss", "-ltn"], capture_output=True, text=True).stdout:
            if time.monotonic() > deadline:
                raise TimeoutError(f"socat did not listen on {self.service_address}:{port}")
            time.sleep(0.05)

    def spawn(self, host: str, argv: Sequence[str], *, env: dict[str, str], cwd: Path,
              log: Path) -> subprocess.Popen[bytes]:
        h = self.hosts[host]
        with log.open("ab") as out:
            proc = subprocess.Popen(["ip", "netns", "exec", h.ns, *argv], env=env, cwd=cwd,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        h.procs.append(proc)
        return proc

    def kill_host(self, host: str) -> int:
        """Every process in the host's namespace SIGKILLed at once, like pulling its plug."""
        h = self.hosts[host]
        pids = ns_pids(h.ns)
        for pid in pids:
            _kill(pid)
        for proc in h.procs:
            proc.wait()
        h.procs.clear()
        return len(pids)

    def stop_host(self, host: str, timeout: float = 15.0) -> None:
        """A clean shutdown (SIGTERM, then SIGKILL for what is left)."""
        h = self.hosts[host]
        for proc in h.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for proc in h.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self.kill_host(host)

    def close(self) -> None:
        for name in list(self.hosts):
            self.kill_host(name)
            ip("netns", "del", self.hosts[name].ns, check=False)
        self.hosts.clear()
        for relay in self.relays:
            try:
                os.killpg(relay.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            relay.wait()
        self.relays.clear()
        for link in self._links:
            ip("link", "del", link, check=False)  # a veth pair goes with either end
        self._links.clear()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
