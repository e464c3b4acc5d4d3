"""Realtime Authorization for private channels: the caller's RLS policies on realtime.messages
decide, probed the way Supabase Realtime probes them (supabase-protocol.md §4.3).

Read  (join, token refresh): in a transaction that is rolled back, insert one row per extension
      (broadcast; presence too when the channel has presence enabled) for the topic as the
      superuser, then switch to the token's role with its claims and realtime.topic set and see
      which of the rows the SELECT policies let it read.
Write (first broadcast from a socket, REST sends): as the token's role with the same settings,
      insert a broadcast row for the topic (rolled back); refused by RLS (insufficient_privilege)
      means no.

    policies = await read_policies(db, claims, topic, presence=False)  # Policies; raises Unavailable
    ok = await broadcast_write(db, claims, topic)                      # bool; raises Unavailable / PolicyError
"""
import json
import logging
import uuid

import psycopg
from psycopg import errors as pgerrors

log = logging.getLogger("standin.authz")

UNAVAILABLE = "Realtime was unable to connect to the project database"


class Unavailable(Exception):
    """The database could not be reached."""


class PolicyError(Exception):
    """A policy raised an error (Realtime logs RlsPolicyError and refuses)."""


class Policies:
    """What a token may do on a private topic; None = not evaluated (yet)."""
    __slots__ = ("broadcast_read", "presence_read", "broadcast_write")

    def __init__(self, broadcast_read=None, presence_read=None):
        self.broadcast_read = broadcast_read
        self.presence_read = presence_read
        self.broadcast_write = None

    @property
    def can_read(self):
        return bool(self.broadcast_read or self.presence_read)

    def revoked_by(self, new):
        """True when a read this token had is refused to the new one."""
        return (self.broadcast_read is True and new.broadcast_read is False) or \
            (self.presence_read is True and new.presence_read is False)


async def _as_caller(conn, claims, topic):
    claims = claims or {}
    role = claims.get("role") or "anon"
    await conn.execute(
        "select set_config('role', %s, true), set_config('realtime.topic', %s, true),"
        " set_config('request.jwt.claims', %s, true), set_config('request.jwt.claim.sub', %s, true),"
        " set_config('request.jwt.claim.role', %s, true), set_config('request.headers', '{}', true)",
        (role, topic, json.dumps(claims), str(claims.get("sub") or ""), role))


async def read_policies(db, claims, topic, presence=False):
    """Policies with broadcast_read (and presence_read when `presence`) evaluated. A policy that
    raises counts as a refusal, as in Realtime."""
    extensions = ["broadcast", "presence"] if presence else ["broadcast"]
    ids = {ext: str(uuid.uuid4()) for ext in extensions}
    seen = set()
    try:
        async with db.connection() as conn:
            try:
                async with conn.transaction():
                    for ext, mid in ids.items():
                        await conn.execute(
                            "insert into realtime.messages (id, topic, extension) values (%s, %s, %s)",
                            (mid, topic, ext))
                    await _as_caller(conn, claims, topic)
                    cur = await conn.execute("select id::text from realtime.messages where id = any(%s::uuid[])",
                                             (list(ids.values()),))
                    seen = {r[0] for r in await cur.fetchall()}
                    raise psycopg.Rollback()
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except psycopg.Error as e:
                log.warning("RlsPolicyError on topic %s: %s", topic, e)
                seen = set()
    except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as e:
        raise Unavailable(str(e))
    p = Policies(broadcast_read=ids["broadcast"] in seen)
    if presence:
        p.presence_read = ids["presence"] in seen
    return p


async def broadcast_write(db, claims, topic):
    """May this token send broadcasts on the private topic?"""
    allowed = False
    try:
        async with db.connection() as conn:
            try:
                async with conn.transaction():
                    await _as_caller(conn, claims, topic)
                    try:
                        async with conn.transaction():       # SAVEPOINT, as Realtime's insert
                            await conn.execute(
                                "insert into realtime.messages (topic, extension) values (%s, 'broadcast')",
                                (topic,))
                        allowed = True
                    except pgerrors.InsufficientPrivilege:
                        allowed = False
                    raise psycopg.Rollback()
            except (psycopg.OperationalError, psycopg.InterfaceError):
                raise
            except psycopg.Error as e:
                log.warning("RlsPolicyError (write) on topic %s: %s", topic, e)
                raise PolicyError(str(e))
    except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as e:
        raise Unavailable(str(e))
    return allowed
