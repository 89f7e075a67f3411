"""Run the central printing simulator.

    python -m services.simulator --host 127.0.0.1 --port 8765 \
        --db var/central.sqlite3 --secret whsec_...

Every option falls back to an environment variable (CENTRAL_PRINTING_SECRET,
CENTRAL_SIMULATOR_HOST, CENTRAL_SIMULATOR_PORT, CENTRAL_SIMULATOR_DB,
CENTRAL_SIMULATOR_STEP_SECONDS). Prefer the environment for the secret: command lines
are visible to every user of the host.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from services.signing import check_secret
from services.simulator.server import Simulator, SimulatorServer


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m services.simulator", description="Central printing simulator"
    )
    parser.add_argument("--host", default=os.environ.get("CENTRAL_SIMULATOR_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port",
        type=int,
        default=int(_env_float("CENTRAL_SIMULATOR_PORT", 8765)),
        help="0 picks a free port (see --port-file)",
    )
    parser.add_argument(
        "--db", default=os.environ.get("CENTRAL_SIMULATOR_DB", "var/central.sqlite3")
    )
    parser.add_argument(
        "--secret",
        action="append",
        help="whsec_ secret; repeat for rotation (default: CENTRAL_PRINTING_SECRET, "
        "several separated by spaces)",
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=_env_float("CENTRAL_SIMULATOR_STEP_SECONDS", 1.0),
        help="seconds between job status steps; 0 = only on /_control/advance",
    )
    parser.add_argument(
        "--port-file", help="write the bound port here once listening (for --port 0)"
    )
    args = parser.parse_args(argv)
    args.secret = args.secret or os.environ.get("CENTRAL_PRINTING_SECRET", "").split()
    if not args.secret:
        parser.error("a secret is required (--secret or CENTRAL_PRINTING_SECRET)")
    for secret in args.secret:
        try:
            check_secret(secret)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(message)s")
    simulator = Simulator(
        db_path=args.db, secrets=args.secret, step_seconds=args.step_seconds,
        # Billing (mounted at /billing) checks its own secret when given one, else central's.
        billing_secrets=os.environ.get("BILLING_SECRET", "").split(),
        # The SMS gateway (mounted at /sms) likewise.
        sms_secrets=os.environ.get("SMS_GATEWAY_SECRET", "").split(),
    )
    # Where the SMS gateway forwards phones' replies ("STOP"): the office's inbound webhook.
    simulator.sms.inbound_url = os.environ.get("SMS_INBOUND_URL", "")
    server = SimulatorServer((args.host, args.port), simulator)
    host, port = server.server_address[:2]
    simulator.start()
    serving = threading.Thread(target=server.serve_forever, args=(0.1,), name="http", daemon=True)
    serving.start()
    if args.port_file:
        # Written atomically and only after bind, so a waiting parent never reads a
        # half-written or premature port.
        tmp = Path(f"{args.port_file}.tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    logging.getLogger("services.simulator").info(
        "central printing simulator on http://%s:%s (db %s)", host, port, args.db
    )

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # serve_forever runs on its own thread because shutdown() blocks until it returns:
    # calling it from a signal handler on the serving thread would deadlock.
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    simulator.close()


if __name__ == "__main__":
    main()
