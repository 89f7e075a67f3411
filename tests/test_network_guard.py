"""Unit tests reach loopback only (pytest-socket, configured in pyproject addopts): a test that
talks to the outside world by mistake fails instead of depending on the network."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


def test_connections_outside_loopback_are_blocked():
    # pytest-socket also warns; with filterwarnings=error the warning alone would fail a test.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s,
        pytest.warns(UserWarning, match="socket.connect"),
        pytest.raises(SocketConnectBlockedError),
    ):
        s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed anyway


def test_loopback_is_allowed():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
