"""PostgreSQL access for the stand-in: a small pool of psycopg async connections.

    db = Database(dsn)
    await db.open()
    async with db.as_claims(claims) as cur:      # transaction as claims['role'] (anon if absent)
        await cur.execute(...)                   # with request.jwt.claims = claims (RLS applies)
    async with db.service() as cur:              # transaction as the superuser (no RLS)
        ...
    async with db.connection() as conn:          # a raw pooled connection (autocommit)
        ...
"""
import asyncio
import contextlib
import json

import psycopg

from . import config


class Database:
    def __init__(self, dsn, max_size=None):
        self.dsn = dsn
        self.max_size = max_size or config.DB_POOL_MAX
        self._idle = []
        self._count = 0
        self._cond = None
        self._closed = False

    async def open(self):
        self._cond = asyncio.Condition()
        # Fail early (and visibly) if the database is not there.
        async with self.connection() as conn:
            await conn.execute("select 1")

    async def close(self):
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _connect(self):
        return await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=config.DB_CONNECT_TIMEOUT,
            application_name="standin")

    async def _acquire(self):
        if self._cond is None:
            self._cond = asyncio.Condition()
        async with self._cond:
            while True:
                while self._idle:
                    conn = self._idle.pop()
                    if not conn.closed:
                        return conn
                    self._count -= 1
                if self._count < self.max_size:
                    self._count += 1
                    break
                await self._cond.wait()
        try:
            return await self._connect()
        except BaseException:
            async with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    async def _release(self, conn, broken):
        if not broken and not self._closed and not conn.closed \
                and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            async with self._cond:
                self._idle.append(conn)
                self._cond.notify()
            return
        with contextlib.suppress(Exception):
            await conn.close()
        async with self._cond:
            self._count -= 1
            self._cond.notify()

    @contextlib.asynccontextmanager
    async def connection(self):
        conn = await self._acquire()
        broken = False
        try:
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError):
            broken = True
            raise
        except BaseException:
            # Cancelled mid-query etc.: don't reuse a connection in an unknown state.
            broken = conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            raise
        finally:
            await self._release(conn, broken)

    @contextlib.asynccontextmanager
    async def as_claims(self, claims, row_factory=None):
        """A cursor inside a transaction running as the JWT's role with its claims set,
        exactly like PostgREST does (set_config(..., true) => transaction-local)."""
        claims = claims or {}
        role = claims.get("role") or "anon"
        async with self.connection() as conn:
            async with conn.transaction():
                async with conn.cursor(row_factory=row_factory) as cur:
                    await cur.execute(
                        "select set_config('role', %s, true),"
                        " set_config('request.jwt.claims', %s, true),"
                        " set_config('request.jwt.claim.sub', %s, true),"
                        " set_config('request.jwt.claim.role', %s, true)",
                        (role, json.dumps(claims), str(claims.get("sub") or ""), role))
                    yield cur

    @contextlib.asynccontextmanager
    async def service(self, row_factory=None):
        """A cursor inside a transaction as the superuser (bypasses RLS)."""
        async with self.connection() as conn:
            async with conn.transaction():
                async with conn.cursor(row_factory=row_factory) as cur:
                    yield cur
