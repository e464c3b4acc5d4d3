"""realtime.messages, the stand-in's side (what Supabase Realtime does with it): installing the
realtime schema objects (sql/realtime.sql), broadcast replay and the 3-day retention.

    await install(conn)                       # sql/realtime.sql, idempotent
    rows = await replay(db, topic, params)    # [Stored], oldest first; raises ReplayError
    await delete_expired(conn)                # what Supabase's janitor drops
    task = asyncio.ensure_future(janitor(db)) # delete_expired now and every JANITOR_INTERVAL_S

Replay, as Realtime does it on a private channel's join with config.broadcast.replay
{since: ms epoch, limit}: the newest `limit` (default 25, clamped to 1..25) rows of the topic with
private = true and extension = 'broadcast' inserted at or after `since` (and less than a minute in
the future), sent oldest first. `since` must be an integer, `limit` an integer or absent.
"""
import asyncio
import datetime
import logging
import os

import psycopg

log = logging.getLogger("standin.messages")

SQL_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sql", "realtime.sql")

REPLAY_MAX = 25                  # Realtime's hard limit, also the default when `limit` is absent
RETENTION = datetime.timedelta(hours=72)
JANITOR_INTERVAL_S = float(os.environ.get("STANDIN_JANITOR_INTERVAL_S", "3600"))
# The range of Elixir's DateTime.from_unix/2 in milliseconds (years -9999 .. 9999).
UNIX_MS_MIN = -377705116800000
UNIX_MS_MAX = 253402300799999
_EPOCH = datetime.datetime(1970, 1, 1)

INVALID_PARAMS = "Replay params are not valid"
REPLAY_FAILED = "Realtime was unable to replay messages"


class ReplayError(Exception):
    """`reason` is the text after "UnableToReplayMessages: " in the join error."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Stored:
    """One stored broadcast: id (str), event, payload (JSON value or None), binary (bytes or None)."""
    __slots__ = ("id", "event", "payload", "binary")

    def __init__(self, id, event, payload, binary):
        self.id, self.event, self.payload, self.binary = id, event, payload, binary


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def retention_cutoff(now=None):
    """Rows inserted before this (naive UTC) instant are gone: Supabase keeps one partition per
    day and drops every partition whose day is before the day of now - 72 h."""
    day = ((now or _utcnow()) - RETENTION).date()
    return datetime.datetime(day.year, day.month, day.day)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def replay_window(params):
    """(since, limit) from a join's replay map: since is a naive UTC datetime or None (no lower
    bound), limit 1..25. Raises ReplayError(INVALID_PARAMS) where Realtime refuses the params."""
    since, limit = params.get("since"), params.get("limit")
    if limit is None or limit is False:          # Elixir: `params["limit"] || 25`
        limit = REPLAY_MAX
    if not _is_int(since) or not _is_int(limit) or not UNIX_MS_MIN <= since <= UNIX_MS_MAX:
        raise ReplayError(INVALID_PARAMS)
    try:
        start = _EPOCH + datetime.timedelta(milliseconds=since)
    except OverflowError:                        # before year 1: every stored row qualifies
        start = None
    return start, max(min(limit, REPLAY_MAX), 1)


async def install(conn):
    """Create what is missing of the realtime schema objects (sql/realtime.sql) on an autocommit
    connection; raises psycopg.Error (e.g. when the Supabase roles do not exist)."""
    with open(SQL_PATH, encoding="utf-8") as f:
        text = f.read()
    await conn.execute(text)


async def replay(db, topic, params):
    """The stored broadcasts a join with config.broadcast.replay = params gets, oldest first."""
    start, limit = replay_window(params)
    now = _utcnow()
    lower = retention_cutoff(now)
    if start is not None and start > lower:
        lower = start
    try:
        async with db.connection() as conn:
            cur = await conn.execute(
                "select id::text, event, payload, binary_payload from realtime.messages"
                " where topic = %s and private is true and extension = 'broadcast'"
                "   and inserted_at >= %s and inserted_at < %s"
                " order by inserted_at desc limit %s",
                (topic, lower, now + datetime.timedelta(minutes=1), limit))
            rows = await cur.fetchall()
    except psycopg.Error as e:
        log.warning("replay on %s failed: %s", topic, e)
        raise ReplayError(REPLAY_FAILED)
    return [Stored(r[0], r[1], r[2], bytes(r[3]) if r[3] is not None else None) for r in reversed(rows)]


async def delete_expired(conn):
    cur = await conn.execute("delete from realtime.messages where inserted_at < %s",
                             (retention_cutoff(),))
    if cur.rowcount:
        log.info("deleted %d realtime.messages rows older than the retention", cur.rowcount)


async def janitor(db):
    while True:
        try:
            async with db.connection() as conn:
                await delete_expired(conn)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.warning("realtime.messages retention failed: %s", e)
        await asyncio.sleep(JANITOR_INTERVAL_S)
