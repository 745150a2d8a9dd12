"""Real local servers for the channel tests: a dripping TCP server and a test certificate."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def dripping_server(
    first: bytes, drip: bytes, *, interval_s: float = 0.5, read_request: bool = True
) -> Iterator[int]:
    """A server on 127.0.0.1 that sends ``first`` at once, then ``drip`` one byte every
    ``interval_s`` (the slow-loris answer a socket timeout alone cannot bound).

    Yields the port; each connection is served in its own thread until the client leaves.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # accept() is not woken by close(): poll the stop flag
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                if read_request:
                    conn.settimeout(5)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        more = conn.recv(4096)
                        if not more:
                            return
                        data += more
                conn.sendall(first)
                for byte in drip:
                    if stop.wait(interval_s):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:  # the client cut us off: that is the point
                return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(5)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command line."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    key, crt = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return crt, key


def server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def elapsed(started: float) -> float:
    return time.monotonic() - started
