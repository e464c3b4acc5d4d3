"""The project's keys in the 2026 key model, one set per stack, kept in DIR/keys.json (mode 0600)
so that `stack restart` keeps them:

  publishable_key  sb_publishable_…  maps to the `anon` role at the API gateway
  secret_key       sb_secret_…       maps to `service_role`; refused from browsers
  signing key      ES256 (P-256) private key + kid: Auth signs user access tokens with it, its
                   public half is the JWKS at /auth/v1/.well-known/jwks.json
  legacy           whether the legacy HS256 anon / service_role keys (config.py) are still
                   accepted (`stack up --legacy-keys on|off`), and when they were disabled

Both API keys look like the platform's: prefix, 22 random base64url characters, `_`, an
8-character checksum (the checksum is the stand-in's own: base64url of the first 6 bytes of
SHA-256 over prefix and body).
"""
import base64
import datetime
import hashlib
import json
import math
import os
import secrets
import time
import uuid

import jwt as pyjwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from . import config

FILE = "keys.json"
PUBLISHABLE_PREFIX = "sb_publishable_"
SECRET_PREFIX = "sb_secret_"


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_api_key(prefix):
    body = _b64(secrets.token_bytes(16))
    return prefix + body + "_" + _b64(hashlib.sha256((prefix + body).encode()).digest()[:6])


def is_new_api_key(value):
    """An opaque `sb_…` API key (any subtype), as opposed to a JWT."""
    return isinstance(value, str) and value.startswith("sb_")


class ProjectKeys:
    def __init__(self, publishable_key, secret_key, signing_key, kid, legacy=True, legacy_disabled_at=None):
        self.publishable_key = publishable_key
        self.secret_key = secret_key
        self.signing_key = signing_key           # cryptography EllipticCurvePrivateKey (P-256)
        self.kid = kid
        self.public_key = signing_key.public_key()
        self.legacy = bool(legacy)
        self.legacy_disabled_at = legacy_disabled_at
        self.legacy_anon_key = config.ANON_KEY
        self.legacy_service_key = config.SERVICE_ROLE_KEY

    # ------------------------------------------------------------------ creation and storage
    @classmethod
    def create(cls, legacy=True):
        disabled_at = None
        if not legacy:
            disabled_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
        return cls(new_api_key(PUBLISHABLE_PREFIX), new_api_key(SECRET_PREFIX),
                   ec.generate_private_key(ec.SECP256R1()), str(uuid.uuid4()), legacy, disabled_at)

    @classmethod
    def load(cls, directory):
        """The keys of the stack in `directory`; raises OSError / ValueError when there are none."""
        with open(os.path.join(directory, FILE)) as f:
            d = json.load(f)
        key = serialization.load_pem_private_key(d["signing_key"]["pem"].encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("%s: the signing key is not an EC key" % FILE)
        return cls(d["publishable_key"], d["secret_key"], key, d["signing_key"]["kid"],
                   d.get("legacy_keys", True), d.get("legacy_disabled_at"))

    def save(self, directory):
        pem = self.signing_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
        d = {"publishable_key": self.publishable_key, "secret_key": self.secret_key,
             "signing_key": {"kid": self.kid, "alg": "ES256", "pem": pem},
             "legacy_keys": self.legacy, "legacy_disabled_at": self.legacy_disabled_at}
        path = os.path.join(directory, FILE)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(d, f, indent=1)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ API keys
    def api_key_role(self, value):
        """'anon' / 'service_role' for this project's publishable / secret key, else None."""
        if isinstance(value, str):
            if secrets.compare_digest(value.encode(), self.publishable_key.encode()):
                return "anon"
            if secrets.compare_digest(value.encode(), self.secret_key.encode()):
                return "service_role"
        return None

    def is_legacy_key(self, value):
        return value in (self.legacy_anon_key, self.legacy_service_key)

    @property
    def admin_key(self):
        """The key the stack's own tooling uses: valid in both legacy modes."""
        return self.secret_key

    # ------------------------------------------------------------------ signing and JWKS
    def jwk(self):
        """The public half as the JWKS entry Auth publishes."""
        d = json.loads(ECAlgorithm.to_jwk(self.public_key))
        d.update({"alg": "ES256", "kid": self.kid, "use": "sig", "key_ops": ["verify"], "ext": True})
        return dict(sorted(d.items()))

    def jwks(self):
        return {"keys": [self.jwk()]}

    def sign(self, claims):
        """An ES256 token with this project's kid (what Auth issues)."""
        return pyjwt.encode(dict(claims), self.signing_key, algorithm="ES256",
                            headers={"kid": self.kid, "typ": "JWT"})

    def mint(self, role, ttl):
        """The short-lived JWT the API gateway hands to a service for an sb_ API key."""
        now = time.time()
        return self.sign({"iss": "supabase", "role": role, "iat": int(now), "exp": math.ceil(now + max(1, ttl))})

    def public_key_for(self, kid):
        return self.public_key if kid == self.kid else None
