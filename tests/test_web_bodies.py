"""Request bodies against the real workbench (uvicorn on 127.0.0.1, the real node), over raw sockets so the test
decides what is sent and when: a body declared larger than ``web_max_body_bytes`` is refused with 413 before a
byte of it is sent, a chunked body is cut off with 413 once it passes the cap, and a body from nobody signed in
is refused before it is read."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from tests.support.web import WebServer, add_users, login, web_settings

ANSWER_WITHIN_S = 15.0  # an answer that waits for a body never sent never comes: the socket times out instead
CAP = 2 * 1024 * 1024  # web_max_body_bytes by default


@pytest.fixture(scope="module")
def server(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("web"), auth=True)
    try:
        with WebServer(settings) as srv:
            add_users(settings)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture(scope="module")
def session(server: WebServer) -> str:
    """ana's (analyst) session cookie."""
    client = login(server.url, "ana")
    value = client.cookies["ww_session"]
    client.close()
    return str(value)


def _head(server: WebServer, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_and_headers(sock: socket.socket) -> tuple[int, str]:
    """The response's status and header block, read within ANSWER_WITHIN_S."""
    sock.settimeout(ANSWER_WITHIN_S)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return int(head.split(" ", 2)[1]), head.lower()


def test_a_declared_length_over_the_cap_is_refused_before_it_is_sent(server: WebServer, session: str) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_head(server, "/api/v1/watches", {
            "Content-Type": "application/json", "Content-Length": str(300_000_000), "Cookie": f"ww_session={session}",
        }))  # fmt: skip
        status, head = _status_and_headers(sock)  # no byte of the body was sent: only a refusal can answer
    assert status == 413 and "connection: close" in head


def test_a_chunked_body_is_cut_off_at_the_cap(server: WebServer, session: str) -> None:
    total = 64 * CAP
    sent = [0]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_head(server, "/api/v1/watches", {
            "Content-Type": "application/json", "Transfer-Encoding": "chunked", "Cookie": f"ww_session={session}",
        }))  # fmt: skip
        sender = threading.Thread(target=_send_chunks, args=(sock, total, sent), daemon=True)
        sender.start()
        status, _ = _status_and_headers(sock)
        sender.join(ANSWER_WITHIN_S)
    assert status == 413
    # the server stopped reading and closed: the rest of the stream never went through
    assert sent[0] < total


def _send_chunks(sock: socket.socket, total: int, sent: list[int]) -> None:
    """A JSON body in 64 KiB chunks (one endless string), until ``total`` bytes or the server hangs up."""
    piece = b"a" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    try:
        sock.sendall(b'5\r\n{"q":\r\n')
        while sent[0] < total:
            sock.sendall(chunk)
            sent[0] += len(piece)
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # reset or broken pipe: the server closed the connection
        return


@pytest.mark.parametrize(
    ("path", "content_type", "expected"),
    [("/api/v1/watches", "application/json", 401), ("/watches", "application/x-www-form-urlencoded", 303)],
)
def test_a_body_from_nobody_signed_in_is_refused_unread(
    server: WebServer, path: str, content_type: str, expected: int
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        # a body under the cap, declared and never sent: reading it would wait for ever
        sock.sendall(_head(server, path, {"Content-Type": content_type, "Content-Length": str(CAP // 2)}))
        status, head = _status_and_headers(sock)
    assert status == expected
    if expected == 303:
        assert "location: /login?next=%2fwatches" in head


def test_a_small_body_from_a_signed_in_analyst_still_goes_through(server: WebServer, session: str) -> None:
    body = b'{"name": "small-body", "query": "attack"}'
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(_head(server, "/api/v1/watches", {
            "Content-Type": "application/json", "Content-Length": str(len(body)), "Cookie": f"ww_session={session}",
        }) + body)  # fmt: skip
        status, _ = _status_and_headers(sock)
    assert status == 201
