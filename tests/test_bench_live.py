"""The load and fault harness's HTTP client (bench/live.py, issue 13 points 3 and 4): a reply cut
off by a killed server is no answer, so the client sends it again with the same key."""

from __future__ import annotations

import importlib.util
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
        conn.recv(65536)
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
