"""HS256 JWTs with the local-development secret.

verify() raises JwtError whose attributes carry the texts each real service uses:
  .kind        'expired' | 'malformed' | 'signature' | 'claims' | 'empty'
  .reason      Realtime join/system reason, e.g. "InvalidJWTToken: Token has expired 12 seconds ago"
  .handshake   Realtime websocket handshake error text, e.g. "Token has expired"
  .pgrst_code  PostgREST code (PGRST303 for expiry, PGRST301 otherwise)
  .pgrst_message PostgREST message ("JWT expired", "JWT cryptographic operation failed", ...)
"""
import time

import jwt as pyjwt

from . import config


class JwtError(Exception):
    def __init__(self, kind, reason, handshake, pgrst_code, pgrst_message):
        super().__init__(reason)
        self.kind = kind
        self.code = kind
        self.reason = reason
        self.message = reason
        self.handshake = handshake
        self.pgrst_code = pgrst_code
        self.pgrst_message = pgrst_message


def sign(claims, secret=None):
    """Sign claims (dict) with HS256; returns the compact token string."""
    return pyjwt.encode(dict(claims), secret or config.JWT_SECRET, algorithm="HS256",
                        headers={"typ": "JWT"})


def _malformed(pgrst_message):
    return JwtError("malformed", "MalformedJWT: The token provided is not a valid JWT",
                    "The token provided is not a valid JWT", "PGRST301", pgrst_message)


def verify(token, require=("role", "exp"), leeway=0, now=None):
    """Verify signature and expiry; returns the claims dict.

    require: claims that must be present (Realtime needs role and exp; PostgREST passes ()).
    leeway: seconds of tolerance on exp."""
    if token is None or not str(token).strip():
        raise JwtError("empty", "MalformedJWT: The token provided is not a valid JWT",
                       "The token provided is not a valid JWT", "PGRST301",
                       "Empty JWT is sent in Authorization header")
    token = str(token).strip()
    parts = token.count(".") + 1
    if parts != 3:
        raise _malformed("Expected 3 parts in JWT; got %d" % parts)
    try:
        header = pyjwt.get_unverified_header(token)
    except Exception:
        raise _malformed("JWT cryptographic operation failed")
    if header.get("alg") != "HS256":
        raise JwtError("signature", "JwtSignatureError: Failed to validate JWT signature",
                       "Failed to validate JWT signature", "PGRST301",
                       "JWT cryptographic operation failed")
    try:
        claims = pyjwt.decode(token, config.JWT_SECRET, algorithms=["HS256"],
                              options={"verify_aud": False, "verify_exp": False,
                                       "verify_iat": False, "verify_nbf": False,
                                       "verify_iss": False})
    except pyjwt.InvalidSignatureError:
        raise JwtError("signature", "JwtSignatureError: Failed to validate JWT signature",
                       "Failed to validate JWT signature", "PGRST301",
                       "JWT cryptographic operation failed")
    except Exception:
        raise _malformed("JWT cryptographic operation failed")
    if not isinstance(claims, dict):
        raise _malformed("JWT cryptographic operation failed")
    missing = [c for c in require if c not in claims]
    if missing:
        raise JwtError("claims", "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
                       "Fields `role` and `exp` are required in JWT", "PGRST301",
                       "JWT claims missing: " + ", ".join(missing))
    exp = claims.get("exp")
    if exp is not None:
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise JwtError("claims", "InvalidJWTToken: Token expiration time is invalid",
                           "The token provided is not a valid JWT", "PGRST301",
                           "The JWT 'exp' claim must be a number")
        t = time.time() if now is None else now
        if t >= exp + leeway:
            ago = int(t - exp)
            raise JwtError("expired", "InvalidJWTToken: Token has expired %d seconds ago" % ago,
                           "Token has expired", "PGRST303", "JWT expired")
    role = claims.get("role")
    if role is not None and not isinstance(role, str):
        raise JwtError("claims", "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
                       "Fields `role` and `exp` are required in JWT", "PGRST301",
                       "JWT role claim must be a string")
    return claims


def role_of(claims):
    return (claims or {}).get("role") or "anon"
