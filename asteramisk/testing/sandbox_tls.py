"""The sandbox's TLS: a CA of its own and a server certificate for Asterisk, made once with
``openssl``, so that AMI over TLS and ARI over https/wss are tested for real.

The CA's certificate stays outside the chroot (``<sandbox dir>/tls/ca.pem``: what an app gives
as ``ASTERISK_TLS_CA_FILE``); Asterisk's key and certificate go inside it. The certificate
names 127.0.0.1, localhost and the remote sandbox's address.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asteramisk.exceptions import SandboxError

__all__ = ["SERVER_NAMES", "TLSFiles", "ensure_certificates"]

SERVER_NAMES = ("IP:127.0.0.1", "DNS:localhost", "IP:10.99.0.2")
INSIDE = "/var/lib/asteramisk-sandbox-tls"  # Asterisk's key and certificate, in the chroot
DAYS = "3650"


@dataclass(frozen=True)
class TLSFiles:
    ca_file: Path  # on this machine
    cert_file: str  # as Asterisk sees it
    key_file: str


def ensure_certificates(
    directory: Path,
    root: Path,
    *,
    names: tuple[str, ...] = SERVER_NAMES,
    where: str = INSIDE,
    kind: str = "tls",
) -> TLSFiles:
    """The sandbox's CA and Asterisk's certificate (made on first use), for ``names``: the
    CA in ``directory/kind``, Asterisk's key and certificate in ``where`` in the chroot."""
    outside = directory / kind
    inside = root / where.lstrip("/")
    files = TLSFiles(outside / "ca.pem", f"{where}/asterisk.pem", f"{where}/asterisk.key")
    if files.ca_file.is_file() and (inside / "asterisk.pem").is_file():
        return files
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SandboxError(
            "openssl is not installed; the sandbox makes its TLS certificates with it. "
            "Install it with `apt-get install openssl` (scripts/bootstrap does this)."
        )
    outside.mkdir(parents=True, exist_ok=True, mode=0o700)
    inside.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        extensions = work / "server.ext"
        extensions.write_text(
            f"subjectAltName = {','.join(names)}\n"
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "extendedKeyUsage = serverAuth\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid, issuer\n"
        )
        steps = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", DAYS,
             "-keyout", str(work / "ca.key"), "-out", str(work / "ca.pem"),
             "-subj", "/CN=Asteramisk sandbox CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes",
             "-keyout", str(work / "asterisk.key"), "-out", str(work / "asterisk.csr"),
             "-subj", "/CN=asteramisk-sandbox"],
            [openssl, "x509", "-req", "-in", str(work / "asterisk.csr"), "-days", DAYS,
             "-CA", str(work / "ca.pem"), "-CAkey", str(work / "ca.key"), "-CAcreateserial",
             "-extfile", str(extensions), "-out", str(work / "asterisk.pem")],
        ]  # fmt: skip
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise SandboxError(f"openssl {step[1]} failed: {result.stderr.strip()[-400:]}")
        shutil.copyfile(work / "asterisk.pem", inside / "asterisk.pem")
        shutil.copyfile(work / "asterisk.key", inside / "asterisk.key")
        (inside / "asterisk.key").chmod(0o600)
        shutil.copyfile(work / "ca.pem", files.ca_file)  # the CA's key is not kept
    return files
