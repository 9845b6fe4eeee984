"""Tiny loopback network peers for client tests: an HTTP forward proxy, a TLS front, a scripted server.

They run as asyncio servers inside the test's own event loop, bind 127.0.0.1 on a free
port, and are closed by their ``async with`` block, so every test stays bounded.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2


@dataclass
class SeenRequest:
    """A request as a peer received it on the wire."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""


async def _read_request(reader: asyncio.StreamReader) -> SeenRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return SeenRequest(method, target, headers, body)


class _Server:
    """Base: an asyncio server on 127.0.0.1 with a free port."""

    def __init__(self) -> None:
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Any:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._ssl())
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def _ssl(self) -> ssl.SSLContext | None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await asyncio.wait_for(self._server.wait_closed(), 5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class ForwardProxy(_Server):
    """An HTTP forward proxy for ``http://`` targets that records what passes through it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[SeenRequest] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            self.seen.append(request)
            url = httpx2.URL(request.target)  # absolute-form: http://host:port/path?query
            upstream_reader, upstream_writer = await asyncio.open_connection(url.host, url.port or 80)
            headers = {k: v for k, v in request.headers.items() if k not in ("proxy-connection", "connection")}
            head = f"{request.method} {url.raw_path.decode()} HTTP/1.1\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()) + "connection: close\r\n\r\n"
            upstream_writer.write(head.encode("latin-1") + request.body)
            await upstream_writer.drain()
            answer = await upstream_reader.read()  # until the origin closes (connection: close)
            upstream_writer.close()
            # Hand it back (it says "connection: close") and close: the client reconnects next time.
            writer.write(answer)
            await writer.drain()
            return


class TlsFront(_Server):
    """A TLS front for a plain-HTTP server: decrypts and pipes bytes to ``127.0.0.1:target_port``."""

    def __init__(self, target_port: int, certificate: ServerCertificate) -> None:
        super().__init__()
        self.target_port = target_port
        self.certificate = certificate

    def _ssl(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate.cert_file, self.certificate.key_file)
        return context

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            finally:
                if sink.can_write_eof():
                    sink.write_eof()

        try:
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
        finally:
            upstream_writer.close()


Handler = Callable[[SeenRequest], Awaitable[tuple[int, dict[str, str], bytes]]]


class ScriptedServer(_Server):
    """An HTTP server answering each request with ``await handler(request)`` -> (status, headers, body).

    ``chunked`` sends bodies without ``Content-Length``.
    """

    def __init__(self, handler: Handler, *, chunked: bool = False) -> None:
        super().__init__()
        self.handler = handler
        self.chunked = chunked
        self.seen: list[SeenRequest] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await _read_request(reader)) is not None:
            self.seen.append(request)
            status, headers, body = await self.handler(request)
            lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
            if self.chunked:
                lines.append("transfer-encoding: chunked")
                payload = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _parts(body)) + b"0\r\n\r\n"
            else:
                lines.append(f"content-length: {len(body)}")
                payload = body
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
            await writer.drain()


def _parts(body: bytes, size: int = 4096) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@dataclass
class ServerCertificate:
    """A throwaway CA and a server certificate for 127.0.0.1, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    files: list[Path] = field(default_factory=list)


def make_certificate(folder: Path) -> ServerCertificate:
    """Create a CA and a certificate for ``127.0.0.1`` signed by it (needs ``cryptography``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jiraplug test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    out = ServerCertificate(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    out.ca_file.write_bytes(ca.public_bytes(pem))
    out.cert_file.write_bytes(cert.public_bytes(pem))
    out.key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return out
