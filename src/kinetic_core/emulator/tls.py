"""Key material for the emulator: the JWT signing pair and the HTTPS certificates.

Everything is generated once into the data dir (with ``cryptography``) and reused
on later starts, so clients that trusted the CA or uploaded the JWT certificate
keep working across restarts.

Layout under the data dir::

    jwt/private_key.pem   RSA key a client signs JWT bearer assertions with
    jwt/certificate.pem   its self-signed certificate; the org trusts it
    tls/ca.pem            the local CA certificate (give it to clients as ``verify=``)
    tls/ca-key.pem        the CA key
    tls/server.pem        server certificate for 127.0.0.1 and localhost, signed by the CA
    tls/server-key.pem    the server key
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kinetic_core.emulator.private import private_dir, write_private

_KEY_SIZE = 2048
_VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class JwtCredentials:
    """Paths of the JWT bearer key pair."""

    private_key: Path
    certificate: Path


@dataclass(frozen=True)
class ServerTls:
    """Paths of the HTTPS material."""

    ca_cert: Path
    cert: Path
    key: Path


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    private_dir(path.parent)
    write_private(path, data)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kinetic Local"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ensure_jwt_credentials(data_dir: Path, *, now: dt.datetime | None = None) -> JwtCredentials:
    """Create (once) the RSA key and self-signed certificate used for JWT bearer logins.

    Example:
        >>> creds = ensure_jwt_credentials(tmp_path)  # doctest: +SKIP
        >>> creds.private_key.name
        'private_key.pem'
    """
    folder = data_dir / "jwt"
    creds = JwtCredentials(folder / "private_key.pem", folder / "certificate.pem")
    if creds.private_key.exists() and creds.certificate.exists():
        return creds
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    key = _new_key()
    name = _name("kinetic-local-jwt")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALIDITY)
        .sign(key, hashes.SHA256())
    )
    _write_private(creds.private_key, _key_pem(key))
    _write_private(creds.certificate, cert.public_bytes(serialization.Encoding.PEM))
    return creds


def ensure_server_tls(
    data_dir: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), *, now: dt.datetime | None = None
) -> ServerTls:
    """Create (once) a local CA and a server certificate for ``hosts`` signed by it.

    Example:
        >>> files = ensure_server_tls(tmp_path)  # doctest: +SKIP
        >>> httpx.get(url, verify=str(files.ca_cert))  # doctest: +SKIP
    """
    folder = data_dir / "tls"
    files = ServerTls(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    if files.ca_cert.exists() and files.cert.exists() and files.key.exists():
        return files
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)
    ca_key = _new_key()
    ca_name = _name("Kinetic Local CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = _new_key()
    alt_names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt_names.append(x509.DNSName(host))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(folder / "ca-key.pem", _key_pem(ca_key))
    _write_private(files.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.key, _key_pem(server_key))
    _write_private(files.cert, server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def load_certificate_public_key(pem: bytes) -> object:
    """The public key of a PEM certificate (what PyJWT verifies RS256 signatures with)."""
    return x509.load_pem_x509_certificate(pem).public_key()
