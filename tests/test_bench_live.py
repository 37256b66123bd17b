"""The load and fault harness's HTTP client (bench/live.py, issue 13 points 3 and 4): a reply cut
off by a killed server is no answer, so the client sends it again with the same key."""

from __future__ import annotations

import importlib.util
import re
import socket
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest


def _live() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "live.py"
    spec = importlib.util.spec_from_file_location("live", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("live", module)  # its dataclasses look their module up by name
    spec.loader.exec_module(sys.modules["live"])
    return sys.modules["live"]


def _read_the_whole_request(conn: socket.socket) -> None:
    """Up to the end of the body the request announced: a socket closed with unread bytes in its
    buffer sends a reset, and the client would see ``ECONNRESET`` instead of the cut-off reply
    (CI once did, 2026-12-06: the request had arrived in two segments and one ``recv`` read the
    first)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = conn.recv(65536)
        assert chunk, "the client closed before its request's headers ended"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    remaining = int(length.group(1)) if length else 0
    remaining -= len(body)
    while remaining > 0:
        chunk = conn.recv(65536)
        assert chunk, "the client closed before its request's body ended"
        remaining -= len(chunk)


def test_a_reply_cut_off_between_its_headers_and_its_body_is_no_answer() -> None:
    """As gunicorn killed mid-reply: the status and headers sent, then the connection closed before
    the 330 bytes it announced. faults.py's clients retry only an ``OSError``; before 2026-12-06
    this raised ``http.client.IncompleteRead``, which killed the client's thread and its retry."""
    live = _live()
    listener = socket.socket()
    listener.bind((live.HOST, 0))
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        _read_the_whole_request(conn)
        conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 330\r\n\r\n")
        conn.close()

    server = threading.Thread(target=serve)
    server.start()
    try:
        with pytest.raises(OSError, match="IncompleteRead"):
            live.submit(listener.getsockname()[1], "token", "key-1", {"answers": []}, timeout=5)
    finally:
        server.join(5)
        listener.close()
