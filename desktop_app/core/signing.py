"""Signed policy packs: an Ed25519 signature over a manifest of the pack's file hashes.

`SIGNATURE.json` in the pack:

    {"format": 1, "pack_id": "...", "version": "...", "key_id": "<16 hex>",
     "files": {"pack.toml": "<sha256>", ...}, "signature": "<base64>"}

The signature covers the canonical JSON of {format, pack_id, version, key_id,
files}. A pack is accepted when every pack file is listed with its hash, no
listed file is missing, and the signature verifies with a trusted public key
(PEM files in `resources/trusted_keys/` and in `trusted_keys/` beside the
database). The `cryptography` package is imported only when signing or
verifying, so `clinic-settle calc` stays light.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from desktop_app.errors import Refused

SIGNATURE_FILE = "SIGNATURE.json"


class SignatureError(Refused):
    """The pack is unsigned, tampered with, or signed by a key that is not trusted."""


def _canon(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def key_id(public_pem: bytes) -> str:
    from cryptography.hazmat.primitives import serialization

    pub = serialization.load_pem_public_key(public_pem)
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def keygen(out_dir: Path, name: str = "bureau") -> tuple[Path, Path]:
    """Write `<name>-private.pem` (keep it offline) and `<name>-public.pem` (give it to clinics)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    out_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    priv = out_dir / f"{name}-private.pem"
    pub = out_dir / f"{name}-public.pem"
    priv.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    pub.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    return priv, pub


def manifest(pack_id: str, version: str, files: dict[str, bytes], kid: str) -> dict:
    return {"format": 1, "pack_id": pack_id, "version": version, "key_id": kid,
            "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items()) if n != SIGNATURE_FILE}}


def sign_files(pack_id: str, version: str, files: dict[str, bytes], private_pem: bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem, password=None)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    body = manifest(pack_id, version, files, key_id(pub))
    sig = key.sign(_canon(body))
    return json.dumps({**body, "signature": base64.b64encode(sig).decode()}, ensure_ascii=False, indent=2,
                      sort_keys=True).encode() + b"\n"


@dataclass(frozen=True)
class Verified:
    key_id: str
    key_file: str


def trusted_keys(extra_dirs: list[Path] | None = None) -> dict[str, tuple[bytes, str]]:
    """key_id → (PEM, file) for every public key in the trusted folders."""
    from desktop_app.resources import runtime_dir  # the one place that locates resources/

    root = runtime_dir("resources/trusted_keys")
    out: dict[str, tuple[bytes, str]] = {}
    for d in [root, *(extra_dirs or [])]:
        if d.is_dir():
            for f in sorted(d.glob("*.pem")):
                pem = f.read_bytes()
                try:
                    out[key_id(pem)] = (pem, str(f))
                except ValueError:
                    continue
    return out


def verify_files(pack_id: str, version: str, files: dict[str, bytes],
                 keys: dict[str, tuple[bytes, str]]) -> Verified:
    """Raise SignatureError unless the files carry a valid signature by a trusted key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    raw = files.get(SIGNATURE_FILE)
    if raw is None:
        raise SignatureError(f"政策包 {pack_id} 没有签名（缺少 {SIGNATURE_FILE}）")
    try:
        sig = json.loads(raw.decode("utf-8"))
        body = {k: sig[k] for k in ("format", "pack_id", "version", "key_id", "files")}
        signature = base64.b64decode(sig["signature"])
    except (ValueError, KeyError, TypeError):
        raise SignatureError(f"政策包 {pack_id} 的签名文件格式错误") from None
    actual = {n: hashlib.sha256(b).hexdigest() for n, b in files.items() if n != SIGNATURE_FILE}
    if actual != body["files"]:
        changed = sorted(n for n in set(actual) | set(body["files"]) if actual.get(n) != body["files"].get(n))
        raise SignatureError(f"政策包 {pack_id} 签名后被改动：{', '.join(changed)}")
    if body["pack_id"] != pack_id or body["version"] != version:
        raise SignatureError(f"签名属于 {body['pack_id']} {body['version']}，不是 {pack_id} {version}")
    key = keys.get(body["key_id"])
    if key is None:
        raise SignatureError(f"政策包 {pack_id} 的签名密钥 {body['key_id']} 不在受信任的公钥中")
    pub = serialization.load_pem_public_key(key[0])
    try:
        pub.verify(signature, _canon(body))
    except InvalidSignature:
        raise SignatureError(f"政策包 {pack_id} 的签名无效") from None
    return Verified(body["key_id"], key[1])
