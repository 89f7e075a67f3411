"""Run the simulator as a real subprocess and drive its control endpoint.

A separate process rather than a thread in the caller: the drills SIGKILL central and
restart it on the same database, and the office must reach it over a real socket.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypedDict, Unpack

import httpx

from services.signing import new_secret, sign_headers
from services.simulator.config import Knobs

__all__ = ["BlobRecord", "SimulatorControl", "SimulatorProcess", "SimulatorStats", "free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (prefer `SimulatorProcess(port=0)`, which has no race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class CallStats(TypedDict):
    total: int
    by_path: dict[str, int]
    by_outcome: dict[str, int]


class BlobStats(TypedDict):
    held: int
    complete: int
    bytes_held: int
    bytes_received: int
    bytes_discarded: int
    completions: int


class LinkStats(TypedDict):
    bytes: int
    cuts: int
    cut_bytes: int
    first_at: float | None
    last_at: float | None
    cut_armed: bool


class BlobRecord(TypedDict):
    """One blob in central's ledger: what it holds now and what ever crossed the wire."""

    held: int
    length: int
    complete: int
    completions: int
    losses: int
    bytes_received: int
    bytes_discarded: int


class SimulatorStats(TypedDict):
    jobs: int
    blobs: BlobStats
    link: LinkStats
    jobs_by_status: dict[str, int]
    print_counts: dict[str, int]
    printed_twice: list[str]
    callbacks: dict[str, int]
    calls: CallStats
    calls_while_down: int
    intake_per_second_max: int


class SimulatorControl:
    """Typed access to `/_control` (unsigned, loopback only)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self._http.request(method, path, json=payload)
        if response.status_code == 400:
            raise ValueError(response.json().get("detail", "invalid control request"))
        response.raise_for_status()
        return response.json()

    def config(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_control"))

    def configure(self, **knobs: Unpack[Knobs]) -> dict[str, Any]:
        """Change only the given knobs; returns the whole new config."""
        return dict(self._call("POST", "/_control", dict(knobs)))

    def advance(self) -> int:
        """Move every unfinished job one step now; returns how many moved."""
        return int(self._call("POST", "/_control/advance")["advanced"])

    def restore_point(self) -> int:
        """Remember the current jobs as the backup to restore; returns how many."""
        return int(self._call("POST", "/_control/restore-point")["jobs"])

    def restore(self, *, all_blobs: bool = False) -> int:
        """Lose everything since the restore point (the ransomware case); returns jobs lost.

        `all_blobs`: lose every blob too, even those of jobs the backup kept.
        """
        payload = {"blobs": "all"} if all_blobs else None
        return int(self._call("POST", "/_control/restore", payload)["lost"])

    def reset(self) -> None:
        """Empty store, ledger and counters; config back to the process's defaults."""
        self._call("POST", "/_control/reset")

    def stats(self) -> SimulatorStats:
        data: SimulatorStats = self._call("GET", "/_control/stats")
        return data

    def blobs(self) -> dict[str, BlobRecord]:
        """Central's blob ledger by SHA-256 (survives restore, like the print ledger)."""
        data: dict[str, BlobRecord] = self._call("GET", "/_control/blobs")["blobs"]
        return data

    def blob_bytes(self, sha256: str) -> bytes | None:
        """The bytes central holds for a blob (tests compare them), or None."""
        response = self._http.get(f"/_control/blobs/{sha256}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.content


class SimulatorProcess:
    """The simulator as a subprocess: start, wait for health, stop, kill, restart.

    `port=0` picks a free port on first start; restarts keep that port and the database,
    so an office configured with `base_url` finds central again after a crash.
    """

    def __init__(
        self,
        *,
        db_path: str | Path,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        step_seconds: float = 1.0,
        log_file: str | Path | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        self.db_path = Path(db_path)
        self.secret = secret or new_secret()
        self.host = host
        self.port = port
        self.step_seconds = step_seconds
        self.log_file = Path(log_file) if log_file else None
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._control: SimulatorControl | None = None

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("simulator not started yet")
        return f"http://{self.host}:{self.port}"

    @property
    def control(self) -> SimulatorControl:
        if self._control is None:
            self._control = SimulatorControl(self.base_url)
        return self._control

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> Self:
        if self.running:
            return self
        with tempfile.TemporaryDirectory(prefix="simulator-") as tmp:
            port_file = Path(tmp) / "port"
            command = [
                sys.executable,
                "-m",
                "services.simulator",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--db",
                str(self.db_path),
                "--step-seconds",
                str(self.step_seconds),
                "--port-file",
                str(port_file),
            ]
            # The secret goes through the environment, not argv, which `ps` shows to all.
            env = {**os.environ, "CENTRAL_PRINTING_SECRET": self.secret}
            if self.log_file:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                self._log = self.log_file.open("ab")
            self._proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log or subprocess.DEVNULL,
                stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            )
            try:
                self.port = self._wait_for_port(port_file)
                self._wait_for_health()
            except BaseException:
                self.kill()
                raise
        return self

    def _wait_for_port(self, port_file: Path) -> int:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            self._check_alive()
            if port_file.exists():
                return int(port_file.read_text())
            time.sleep(0.02)
        raise TimeoutError("simulator did not start listening")

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as http:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    response = http.get("/v1/health", headers=sign_headers(self.secret, b""))
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise TimeoutError("simulator did not answer its health check")

    def _check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"simulator exited with code {self._proc.returncode}")

    def stop(self, timeout: float = 5.0) -> None:
        """Graceful stop (SIGTERM); falls back to SIGKILL after `timeout`."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._release()

    def kill(self) -> None:
        """SIGKILL: central crashes mid-flight; whatever it committed is on disk."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._release()

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def _release(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def close(self) -> None:
        self.stop()
        if self._control is not None:
            self._control.close()
            self._control = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
