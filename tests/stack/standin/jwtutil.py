"""JWT verification as the project's services do it: HS256 with the legacy JWT secret (the legacy
anon / service_role keys, hand-made tokens) and ES256 with the project's signing key, found by
the token's `kid` in the JWKS (keys.ProjectKeys; user tokens and the gateway's minted tokens).

verify() raises JwtError whose attributes carry the texts each real service uses:
  .kind        'expired' | 'malformed' | 'signature' | 'signer' | 'claims' | 'empty'
  .reason      Realtime join/system reason, e.g. "InvalidJWTToken: Token has expired 12 seconds ago"
  .handshake   Realtime websocket handshake error text, e.g. "Token has expired"
  .pgrst_code  PostgREST code (PGRST303 for expiry, PGRST301 otherwise)
  .pgrst_message PostgREST message ("JWT expired", "No suitable key or wrong key type", ...)
  .pgrst_details PostgREST details (None, or "None of the keys was able to decode the JWT")
  .gotrue      what Auth appends to "invalid JWT: unable to parse or verify signature, "

use_keys(keys) installs the project's keys for verify() calls that pass none (the stand-in
does it at start-up); without keys only HS256 tokens verify.
"""
import json
import time

import jwt as pyjwt

from . import config

_keys = None

NO_KEY = "No suitable key or wrong key type"
NO_KEY_DETAILS = "None of the keys was able to decode the JWT"


def use_keys(keys):
    global _keys
    _keys = keys


class JwtError(Exception):
    def __init__(self, kind, reason, handshake, pgrst_code, pgrst_message, gotrue=None, pgrst_details=None):
        super().__init__(reason)
        self.kind = kind
        self.code = kind
        self.reason = reason
        self.message = reason
        self.handshake = handshake
        self.pgrst_code = pgrst_code
        self.pgrst_message = pgrst_message
        self.pgrst_details = pgrst_details
        self.gotrue = gotrue or pgrst_message


def sign(claims, secret=None):
    """Sign claims (dict) with HS256 (the legacy JWT secret); returns the compact token string."""
    return pyjwt.encode(dict(claims), secret or config.JWT_SECRET, algorithm="HS256",
                        headers={"typ": "JWT"})


def _malformed(pgrst_message, gotrue="token is malformed: could not JSON decode header"):
    return JwtError("malformed", "MalformedJWT: The token provided is not a valid JWT",
                    "The token provided is not a valid JWT", "PGRST301", pgrst_message, gotrue)


def _bad_signature(alg):
    gotrue = "crypto/ecdsa: verification error" if alg == "ES256" else "signature is invalid"
    return JwtError("signature", "JwtSignatureError: Failed to validate JWT signature",
                    "Failed to validate JWT signature", "PGRST301", NO_KEY,
                    "token signature is invalid: " + gotrue, NO_KEY_DETAILS)


def _no_signer(alg, kid):
    """Realtime finds no JWKS key for the token's kid (or the token has none)."""
    if kid is None:
        text = "Failed to generate JWT signer, check your JWT secret or JWKS configuration"
        gotrue = "token is unverifiable: error while executing keyfunc: unrecognized JWT kid <nil> for algorithm %s" % alg
    else:
        text = ("Failed to generate JWT signer for key ID (kid) %s, check your JWT secret or JWKS configuration"
                % json.dumps(kid))
        gotrue = "token is unverifiable: error while executing keyfunc: unrecognized JWT kid %s for algorithm %s" % (kid, alg)
    return JwtError("signer", "JwtSignerError: " + text, text, "PGRST301", NO_KEY, gotrue, NO_KEY_DETAILS)


def _key_for(header, keys):
    """(algorithm, verification key) for the token's header; raises JwtError."""
    alg = header.get("alg")
    kid = header.get("kid")
    if alg == "HS256":
        return alg, config.JWT_SECRET
    if alg == "ES256":
        public = keys.public_key_for(kid) if keys is not None and isinstance(kid, str) else None
        if public is None:
            raise _no_signer(alg, kid if isinstance(kid, str) else None)
        return alg, public
    # RS256, EdDSA, none, ...: no key in this project's set can check it.
    err = _no_signer(str(alg), kid if isinstance(kid, str) else None)
    err.gotrue = "token signature is invalid: signing method %s is invalid" % alg
    raise err


def verify(token, require=("role", "exp"), leeway=0, now=None, keys=None):
    """Verify signature and expiry; returns the claims dict.

    require: claims that must be present (Realtime needs role and exp; PostgREST passes ()).
    leeway: seconds of tolerance on exp. keys: the project's keys (default: use_keys())."""
    keys = keys if keys is not None else _keys
    if token is None or not str(token).strip():
        raise JwtError("empty", "MalformedJWT: The token provided is not a valid JWT",
                       "The token provided is not a valid JWT", "PGRST301",
                       "Empty JWT is sent in Authorization header",
                       "token is malformed: token contains an invalid number of segments")
    token = str(token).strip()
    parts = token.count(".") + 1
    if parts != 3:
        raise _malformed("Expected 3 parts in JWT; got %d" % parts,
                         "token is malformed: token contains an invalid number of segments")
    try:
        header = pyjwt.get_unverified_header(token)
    except Exception:
        raise _malformed("JWT cryptographic operation failed")
    alg, key = _key_for(header, keys)
    try:
        claims = pyjwt.decode(token, key, algorithms=[alg],
                              options={"verify_aud": False, "verify_exp": False,
                                       "verify_iat": False, "verify_nbf": False,
                                       "verify_iss": False})
    except pyjwt.InvalidSignatureError:
        raise _bad_signature(alg)
    except Exception:
        raise _malformed("JWT cryptographic operation failed", "token is malformed: could not JSON decode claim")
    if not isinstance(claims, dict):
        raise _malformed("JWT cryptographic operation failed", "token is malformed: could not JSON decode claim")
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
                           "The JWT 'exp' claim must be a number",
                           "token has invalid claims: token is malformed")
        t = time.time() if now is None else now
        if t >= exp + leeway:
            raise expired(int(t - exp))
    role = claims.get("role")
    if role is not None and not isinstance(role, str):
        raise JwtError("claims", "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
                       "Fields `role` and `exp` are required in JWT", "PGRST301",
                       "JWT role claim must be a string")
    return claims


def expired(ago):
    """The error for a token that expired `ago` seconds ago."""
    return JwtError("expired", "InvalidJWTToken: Token has expired %d seconds ago" % ago,
                    "Token has expired", "PGRST303", "JWT expired",
                    "token has invalid claims: token is expired")


def role_of(claims):
    return (claims or {}).get("role") or "anon"
