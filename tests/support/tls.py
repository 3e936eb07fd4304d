"""TLS for the tests, whose servers speak none: a throwaway CA and a server
certificate for 127.0.0.1, and a proxy on 127.0.0.1 that terminates TLS and
passes the plain bytes on to the real server (RabbitMQ: TLS from the first
byte; PostgreSQL: TLS after the protocol's SSLRequest)."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import struct
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SSL_REQUEST = 80877103  # PostgreSQL's request codes, in the 8-byte startup packet
GSSENC_REQUEST = 80877104


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate: what a client trusts
    cert: Path  # the server's (or a client's) certificate for 127.0.0.1, signed by the CA
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path, common_name: str = "datemaker test CA") -> Certificates:
    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    paths = Certificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    paths.key.chmod(0o600)  # libpq refuses a client key others can read
    return paths


class TlsProxy:
    """Terminates TLS on 127.0.0.1:`port` and forwards to the plain server, on
    an event loop of its own thread. `handshakes` counts the TLS sessions made,
    `refused` the connections that brought no TLS or failed the handshake."""

    def __init__(self, target_port: int, certificates: Certificates, *, postgres: bool = False) -> None:
        self.target_port = target_port
        self.postgres = postgres
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(certificates.cert, certificates.key)
        self.handshakes = 0
        self.refused = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _start(self) -> asyncio.Server:
        if self.postgres:  # TLS starts after the SSLRequest
            return await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context, ssl_handshake_timeout=10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.postgres:
                if not await self._postgres_wants_tls(reader, writer):
                    raise ConnectionError("a plain startup: this proxy speaks only TLS")
                await writer.start_tls(self.context, ssl_handshake_timeout=10)
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
            self.refused += 1
            writer.close()
            return
        self.handshakes += 1
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))

    @staticmethod
    async def _postgres_wants_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answers the SSLRequest with 'S' (a GSSENCRequest before it with 'N')."""
        while True:
            length, code = struct.unpack(">II", await reader.readexactly(8))
            if length != 8 or code not in (SSL_REQUEST, GSSENC_REQUEST):
                return False
            writer.write(b"S" if code == SSL_REQUEST else b"N")
            await writer.drain()
            if code == SSL_REQUEST:
                return True

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()
