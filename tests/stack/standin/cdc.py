"""postgres_changes from the WAL, in real time (supabase-protocol.md §3).

A `pg_recvlogical` child streams wal2json format-version 2 lines from a logical slot that belongs
to this stand-in process (stale slots of earlier processes are dropped at start, so a restarted
server never replays: Realtime is at-most-once). Each change is handled strictly in commit order:

  1. publication / action check (tables of publication `supabase_realtime`, re-read on every
     subscribe and every few seconds);
  2. candidate subscriptions (entity + event filter);
  3. ONE round trip that casts every value like `to_jsonb(value::type)` and evaluates every
     distinct filter of the candidates in PostgreSQL;
  4. RLS (INSERT/UPDATE on RLS-enabled tables): per distinct (role, claims) group, inside one
     transaction, a SAVEPOINT + set_config(role, request.jwt.claims) + `select exists(...)` by PK,
     rolled back to the savepoint afterwards. A policy that raises only loses that group's
     delivery (unlike supabase/realtime#2093);
  5. one frame per channel with that channel's matching binding ids.

SQL is composed with psycopg.sql (Identifier/Literal), never by string concatenation.
"""
import asyncio
import ctypes
import datetime
import json
import logging
import os
import re
import signal

import psycopg
from psycopg import sql

from . import messages

log = logging.getLogger("standin.cdc")

PGBIN = os.environ.get("STANDIN_PGBIN", "/usr/lib/postgresql/15/bin")
PUBLICATION = os.environ.get("STANDIN_PUBLICATION", "supabase_realtime")
SLOT_PREFIX = "standin_rt_"
PUBLICATION_REFRESH_S = float(os.environ.get("STANDIN_PUBLICATION_REFRESH_S", "5"))
MAX_IN_VALUES = 100

OPS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_FILTER_RE = re.compile(r"^([^=]+)=([a-z]+)\.(.*)$", re.S)


class FilterError(ValueError):
    pass


def parse_filter(text):
    """`column=op.value` with op in eq/neq/lt/lte/gt/gte/in → [(column, op, value)]
    (value is a list of strings for `in`). Empty/None → []."""
    if text is None:
        return []
    if not isinstance(text, str):
        raise FilterError(json.dumps(text))
    if not text.strip():
        return []
    m = _FILTER_RE.match(text)
    if not m:
        raise FilterError(json.dumps(text))
    col, op, val = m.group(1), m.group(2), m.group(3)
    if op == "in":
        if not (val.startswith("(") and val.endswith(")")):
            raise FilterError('["%s", "%s", "%s"]' % (col, op, val))
        inner = val[1:-1]
        vals = [v.strip().strip('"') for v in inner.split(",")] if inner.strip() else []
        if not vals or len(vals) > MAX_IN_VALUES:
            raise FilterError('["%s", "%s", "%s"]' % (col, op, val))
        return [(col, "in", vals)]
    if op not in OPS:
        raise FilterError('["%s", "%s", "%s"]' % (col, op, val))
    return [(col, op, val)]


def _inspect_filters(filters):
    parts = []
    for col, op, val in filters:
        v = "{%s}" % ",".join(val) if isinstance(val, list) else val
        parts.append('{"%s", "%s", "%s"}' % (col, op, v))
    return "[" + ", ".join(parts) + "]"


def commit_timestamp(text):
    """wal2json '2026-11-20 10:00:05.001234+00' → '2026-11-20T10:00:05.001Z' (UTC, ms, truncated)."""
    if not text:
        return None
    try:
        s = text.strip().replace(" ", "T", 1)
        m = re.match(r"^(.*?)([+-]\d\d)(:?\d\d)?(:?\d\d)?$", s)
        if m:
            off = m.group(2) + ":" + (m.group(3) or "00").lstrip(":")
            s = m.group(1) + off
        dt = datetime.datetime.fromisoformat(s).astimezone(datetime.timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)
    except Exception:
        return None


class TableMeta:
    def __init__(self, oid, schema, name, columns, pk, rls):
        self.oid = oid
        self.schema = schema
        self.name = name
        self.columns = columns            # [(name, typname, typschema)] in attnum order
        self.types = {c[0]: (c[2], c[1]) for c in columns}
        self.pk = pk                      # [name]
        self.rls = rls
        self.selectable = {}              # role -> set(column names)

    def type_ident(self, col):
        ns, typ = self.types[col]
        return sql.Identifier(ns, typ)


class Subscription:
    __slots__ = ("channel", "id", "oid", "action", "filters", "claims", "role", "claims_key")

    def __init__(self, channel, bid, oid, action, filters, claims):
        self.channel = channel
        self.id = bid
        self.oid = oid
        self.action = action
        self.filters = filters
        self.set_claims(claims)

    def set_claims(self, claims):
        self.claims = claims
        self.role = (claims or {}).get("role") or "anon"
        self.claims_key = (self.role, json.dumps(claims, sort_keys=True))


def _text(v):
    """A wal2json value (parsed with numbers kept as text) → text for a cast, or None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    return json.dumps(v)


def _pdeathsig():
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG: die with the stand-in
    except Exception:
        pass


class Cdc:
    def __init__(self, dsn, db=None):
        self.dsn = dsn
        self.db = db
        self.slot = SLOT_PREFIX + str(os.getpid())
        self.conn = None                  # pipeline connection (changes, strictly in order)
        self.aux = None                   # subscribe-time connection
        self.aux_lock = asyncio.Lock()
        self.proc = None
        self.tasks = []
        self.pub = {}                     # oid -> (schema, table, ins, upd, del)
        self.pub_by_name = {}             # (schema, table) -> oid
        self.meta = {}                    # oid -> TableMeta
        self.subs_by_oid = {}             # oid -> [Subscription]
        self.subs_by_channel = {}         # channel -> [Subscription]
        self.ready = asyncio.Event()
        self.stopping = False
        self.on_change = None             # test hook: cb(record, t_read)
        self.on_broadcast = None          # cb(private, topic, event, json_bytes, id)

    # ------------------------------------------------------------------ lifecycle
    async def _connect(self):
        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True,
                                                     application_name="standin-cdc")
        await conn.execute("set timezone to 'UTC'")
        return conn

    async def start(self):
        self.conn = await self._connect()
        self.aux = await self._connect()
        try:
            await messages.install(self.aux)
        except psycopg.Error as e:
            log.warning("realtime.messages / realtime.send not installed: %s", e)
        await self._drop_stale_slots()
        await self.aux.execute("select pg_create_logical_replication_slot(%s, 'wal2json')",
                               (self.slot,))
        await self.refresh_publication()
        await self._spawn()
        self.tasks.append(asyncio.ensure_future(self._refresh_loop()))
        self.ready.set()

    async def stop(self):
        self.stopping = True
        for t in self.tasks:
            t.cancel()
        if self.proc and self.proc.returncode is None:
            try:
                self.proc.terminate()
                await asyncio.wait_for(self.proc.wait(), 2)
            except Exception:
                try:
                    self.proc.kill()
                except Exception:
                    pass
        try:
            if self.aux and not self.aux.closed:
                await self.aux.execute("select pg_drop_replication_slot(slot_name) from pg_replication_slots"
                                       " where slot_name = %s and not active", (self.slot,))
        except Exception:
            pass
        for c in (self.conn, self.aux):
            try:
                if c:
                    await c.close()
            except Exception:
                pass

    async def _drop_stale_slots(self):
        for _ in range(50):
            cur = await self.aux.execute(
                "select slot_name, active_pid from pg_replication_slots where slot_name like %s",
                (SLOT_PREFIX.replace("_", "\\_") + "%",))
            rows = await cur.fetchall()
            if not rows:
                return
            for name, pid in rows:
                try:
                    if pid:
                        await self.aux.execute("select pg_terminate_backend(%s)", (pid,))
                    else:
                        await self.aux.execute("select pg_drop_replication_slot(%s)", (name,))
                        log.info("dropped stale replication slot %s", name)
                except psycopg.Error as e:
                    log.debug("stale slot %s: %s", name, e)
            await asyncio.sleep(0.1)

    async def _spawn(self):
        args = [os.path.join(PGBIN, "pg_recvlogical"), "-d", self.dsn, "--slot", self.slot,
                "--start", "--no-loop", "-f", "-", "-s", "1", "-F", "1",
                "-o", "format-version=2", "-o", "include-timestamp=1", "-o", "include-pk=1",
                "-o", "include-type-oids=1", "-o", "include-transaction=0", "-o", "include-xids=1"]
        env = dict(os.environ, PGTZ="UTC", PGAPPNAME="standin-recvlogical")
        self.proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=64 * 1024 * 1024,
            preexec_fn=_pdeathsig)
        self.tasks.append(asyncio.ensure_future(self._read_loop(self.proc)))
        self.tasks.append(asyncio.ensure_future(self._stderr_loop(self.proc)))

    async def _stderr_loop(self, proc):
        while True:
            line = await proc.stderr.readline()
            if not line:
                return
            log.info("pg_recvlogical: %s", line.decode(errors="replace").rstrip())

    async def _read_loop(self, proc):
        loop = asyncio.get_running_loop()
        while True:
            try:
                line = await proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError) as e:
                log.error("oversized WAL line skipped: %s", e)
                continue
            if not line:
                break
            t_read = loop.time()
            try:
                rec = json.loads(line, parse_float=str, parse_int=str)
            except ValueError:
                # never log the line itself: WAL data includes auth tables (tokens)
                log.warning("unparsable wal2json line (%d bytes) skipped", len(line))
                continue
            if self.on_change:
                try:
                    self.on_change(rec, t_read)
                except Exception:
                    pass
            try:
                await self.handle(rec)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("change handling failed (change dropped)")
                await self._reset_conn()
        rc = await proc.wait()
        if self.stopping:
            return
        log.warning("pg_recvlogical exited (%s); restarting in 1 s", rc)
        await asyncio.sleep(1)
        try:
            cur = await self.aux.execute("select 1 from pg_replication_slots where slot_name = %s",
                                         (self.slot,))
            if not await cur.fetchone():
                await self.aux.execute("select pg_create_logical_replication_slot(%s, 'wal2json')",
                                       (self.slot,))
            await self._spawn()
        except Exception:
            log.exception("could not restart pg_recvlogical")

    async def _reset_conn(self):
        try:
            if self.conn.closed or self.conn.broken or \
                    self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                try:
                    await self.conn.close()
                except Exception:
                    pass
                self.conn = await self._connect()
        except Exception:
            log.exception("cdc connection reset failed")

    async def _refresh_loop(self):
        while True:
            await asyncio.sleep(PUBLICATION_REFRESH_S)
            try:
                await self.refresh_publication()
            except Exception as e:
                log.warning("publication refresh failed: %s", e)

    # ------------------------------------------------------------------ catalog
    async def _ensure_aux(self):
        if self.aux is None or self.aux.closed or self.aux.broken:
            try:
                if self.aux is not None:
                    await self.aux.close()
            except Exception:
                pass
            self.aux = await self._connect()

    async def refresh_publication(self):
        async with self.aux_lock:
            await self._ensure_aux()
            cur = await self.aux.execute(
                "select format('%%I.%%I', t.schemaname, t.tablename)::regclass::oid, t.schemaname,"
                " t.tablename, p.pubinsert, p.pubupdate, p.pubdelete"
                " from pg_publication p join pg_publication_tables t on t.pubname = p.pubname"
                " where p.pubname = %s", (PUBLICATION,))
            rows = await cur.fetchall()
        pub = {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}
        self.pub = pub
        self.pub_by_name = {(v[0], v[1]): k for k, v in pub.items()}

    async def _load_meta(self, conn, oid, roles=()):
        cur = await conn.execute(
            "select c.relrowsecurity, n.nspname, c.relname from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where c.oid = %s", (oid,))
        row = await cur.fetchone()
        if not row:
            return None
        rls, schema, name = row
        cur = await conn.execute(
            "select a.attname, t.typname, tn.nspname from pg_attribute a"
            " join pg_type t on t.oid = a.atttypid join pg_namespace tn on tn.oid = t.typnamespace"
            " where a.attrelid = %s and a.attnum > 0 and not a.attisdropped order by a.attnum", (oid,))
        columns = [tuple(r) for r in await cur.fetchall()]
        cur = await conn.execute(
            "select a.attname from pg_index i join pg_attribute a"
            " on a.attrelid = i.indrelid and a.attnum = any(i.indkey)"
            " where i.indrelid = %s and i.indisprimary order by array_position(i.indkey, a.attnum)",
            (oid,))
        pk = [r[0] for r in await cur.fetchall()]
        meta = TableMeta(oid, schema, name, columns, pk, rls)
        old = self.meta.get(oid)
        wanted = set(roles) | (set(old.selectable) if old else set())
        for role in wanted:
            await self._load_privileges(conn, meta, role)
        self.meta[oid] = meta
        return meta

    async def _load_privileges(self, conn, meta, role):
        try:
            cur = await conn.execute(
                "select a.attname from pg_attribute a where a.attrelid = %s and a.attnum > 0"
                " and not a.attisdropped and has_column_privilege(%s, a.attrelid, a.attnum, 'SELECT')",
                (meta.oid, role))
            meta.selectable[role] = {r[0] for r in await cur.fetchall()}
        except psycopg.Error as e:
            log.warning("privileges of role %s on %s.%s: %s", role, meta.schema, meta.name, e)
            meta.selectable[role] = set()

    # ------------------------------------------------------------------ subscriptions
    async def subscribe(self, channel, bindings, claims):
        """bindings: [(id, params)]. Registers all or nothing; returns None on success or the
        `system` error message."""
        role = (claims or {}).get("role") or "anon"
        await self.refresh_publication()
        new = []
        for bid, params in bindings:
            event = params.get("event")
            event = event.upper() if isinstance(event, str) else "*"
            if event not in ("INSERT", "UPDATE", "DELETE"):
                event = "*"
            schema = params.get("schema")
            table = params.get("table")
            filt = params.get("filter")
            if not isinstance(schema, str) or not schema:
                schema = "public"
            if not isinstance(table, str) or not table:
                table = "*"
            try:
                filters = parse_filter(filt)
            except FilterError as e:
                return "Error parsing `filter` params: %s" % e
            described = "[event: %s, schema: %s, table: %s, filters: %s, select: nil]" % (
                params.get("event") if isinstance(params.get("event"), str) else "*",
                schema, table, _inspect_filters(filters))
            oids = [oid for oid, v in self.pub.items()
                    if (schema == "*" or v[0] == schema) and (table == "*" or v[1] == table)]
            if not oids:
                return ("Unable to subscribe to changes with given parameters. Please check Realtime "
                        "is enabled for the given connect parameters: " + described)
            for oid in sorted(oids):
                try:
                    async with self.aux_lock:
                        meta = await self._load_meta(self.aux, oid, roles=[role])
                        if meta is None:
                            raise ValueError("relation does not exist")
                        await self._validate_filters(meta, role, filters)
                except Exception as e:
                    if isinstance(e, psycopg.Error):
                        diag = e.diag
                        exc = "ERROR %s (%s) %s" % (diag.sqlstate or "XX000",
                                                     type(e).__name__.lower(),
                                                     diag.message_primary or str(e))
                    else:
                        exc = "ERROR P0001 (raise_exception) %s" % e
                    return ("Unable to subscribe to changes with given parameters. An exception "
                            "happened so please check your connect parameters: %s. Exception: %s"
                            % (described, exc))
                new.append(Subscription(channel, bid, oid, event, filters, claims))
        self.unsubscribe(channel)
        if getattr(channel, "closed", False):
            return None
        self.subs_by_channel[channel] = new
        for s in new:
            self.subs_by_oid.setdefault(s.oid, []).append(s)
        return None

    async def _validate_filters(self, meta, role, filters):
        for col, op, val in filters:
            if col not in meta.types or col not in meta.selectable.get(role, ()):
                raise ValueError("invalid column for filter %s" % col)
            typ = meta.type_ident(col)
            if op == "in":
                q = sql.SQL("select {}::{}[]").format(sql.Literal(val), typ)
            else:
                q = sql.SQL("select {}::{}").format(sql.Literal(val), typ)
            await self.aux.execute(q)

    def unsubscribe(self, channel):
        old = self.subs_by_channel.pop(channel, None)
        if not old:
            return
        for s in old:
            lst = self.subs_by_oid.get(s.oid)
            if lst and s in lst:
                lst.remove(s)
                if not lst:
                    del self.subs_by_oid[s.oid]

    def update_claims(self, channel, claims):
        for s in self.subs_by_channel.get(channel, ()):
            s.set_claims(claims)
            meta = self.meta.get(s.oid)
            if meta is not None and s.role not in meta.selectable:
                meta.selectable.pop(s.role, None)

    # ------------------------------------------------------------------ the pipeline
    async def handle(self, rec):
        action = rec.get("action")
        typ = {"I": "INSERT", "U": "UPDATE", "D": "DELETE"}.get(action)
        if typ is None:
            return
        if action == "I" and rec.get("schema") == "realtime" and rec.get("table") == "messages":
            self._db_broadcast(rec)
            return
        oid = self.pub_by_name.get((rec.get("schema"), rec.get("table")))
        if oid is None:
            return
        pubflags = self.pub[oid]
        if not pubflags[{"INSERT": 2, "UPDATE": 3, "DELETE": 4}[typ]]:
            return
        subs = [s for s in self.subs_by_oid.get(oid, ()) if s.action in ("*", typ)]
        if not subs:
            return
        new_cols = {c["name"]: _text(c.get("value")) for c in rec.get("columns") or ()}
        old_cols = {c["name"]: _text(c.get("value")) for c in rec.get("identity") or ()}
        if typ == "UPDATE":
            # unchanged TOASTed values are not in the new tuple; fill them from the old one (FULL)
            for n, v in old_cols.items():
                new_cols.setdefault(n, v)
        meta = self.meta.get(oid)
        if meta is None or any(n not in meta.types for n in list(new_cols) + list(old_cols)) \
                or any(s.role not in meta.selectable for s in subs):
            meta = await self._load_meta(self.conn, oid, roles={s.role for s in subs})
            if meta is None:
                return
            for s in subs:
                if s.role not in meta.selectable:
                    await self._load_privileges(self.conn, meta, s.role)
        ts = commit_timestamp(rec.get("timestamp"))

        # one round trip: typed values + every distinct filter
        new_names = [n for n, _, _ in meta.columns if n in new_cols]
        old_names = [n for n, _, _ in meta.columns if n in old_cols]
        filter_keys = []
        for s in subs:
            for f in s.filters:
                key = (f[0], f[1], tuple(f[2]) if isinstance(f[2], list) else f[2])
                if key not in filter_keys:
                    filter_keys.append(key)
        filter_src = old_cols if typ == "DELETE" else new_cols
        exprs = []
        for n in new_names:
            exprs.append(sql.SQL("to_jsonb({}::{})").format(sql.Literal(new_cols[n]), meta.type_ident(n)))
        for n in old_names:
            exprs.append(sql.SQL("to_jsonb({}::{})").format(sql.Literal(old_cols[n]), meta.type_ident(n)))
        fexprs = []
        for col, op, val in filter_keys:
            if col not in filter_src or col not in meta.types:
                fexprs.append(sql.SQL("false"))      # fail closed
                continue
            t = meta.type_ident(col)
            left = sql.SQL("{}::{}").format(sql.Literal(filter_src[col]), t)
            if op == "in":
                fexprs.append(sql.SQL("coalesce({} = any({}::{}[]), false)").format(
                    left, sql.Literal(list(val)), t))
            else:
                fexprs.append(sql.SQL("coalesce({} " + OPS[op] + " {}::{}, false)").format(
                    left, sql.Literal(val), t))
        # error rows (per role)
        errors_for = {}        # role -> error text
        no_pk = not meta.pk and typ in ("INSERT", "UPDATE")
        for s in subs:
            if no_pk:
                errors_for[s.role] = "Error 400: Bad Request, no primary key"
            elif typ != "DELETE" and not all(c in meta.selectable.get(s.role, ()) for c in meta.pk):
                errors_for[s.role] = "Error 401: Unauthorized"
        rls = meta.rls and typ in ("INSERT", "UPDATE")
        groups = {}
        if rls:
            for s in subs:
                if s.role not in errors_for:
                    groups.setdefault(s.claims_key, s.claims)
        head = sql.SQL("select ") + sql.SQL(", ").join(exprs + fexprs) if (exprs or fexprs) else None
        xid = rec.get("xid")
        try:
            xid = int(xid) if xid is not None else None
        except (TypeError, ValueError):
            xid = None
        row, visible = await self._change_queries(meta, new_cols, head, groups, xid)
        if row is None:
            row = await self._fallback_row(exprs, fexprs)
            if groups and xid is not None:
                await self._wait_visible(xid)
            if groups:
                visible = await self._rls(meta, new_cols, groups)
        nvals = row[:len(new_names)]
        ovals = row[len(new_names):len(new_names) + len(old_names)]
        fvals = dict(zip(filter_keys, row[len(new_names) + len(old_names):]))
        record = dict(zip(new_names, nvals))
        old_record = dict(zip(old_names, ovals))

        def passes(s):
            for f in s.filters:
                key = (f[0], f[1], tuple(f[2]) if isinstance(f[2], list) else f[2])
                if not fvals.get(key):
                    return False
            return True

        subs = [s for s in subs if passes(s)]
        if rls:
            subs = [s for s in subs if s.role in errors_for or visible.get(s.claims_key)]
        if not subs:
            return

        per_role = {}

        def data_for(role):
            d = per_role.get(role)
            if d is not None:
                return d
            if role in errors_for:
                d = {"schema": meta.schema, "table": meta.name, "type": typ, "commit_timestamp": None,
                     "columns": []}
                if typ != "DELETE":
                    d["record"] = {}
                if typ == "UPDATE":
                    d["old_record"] = {}
                d["errors"] = [errors_for[role]]
            else:
                sel = meta.selectable.get(role, set())
                d = {"schema": meta.schema, "table": meta.name, "type": typ, "commit_timestamp": ts,
                     "columns": [{"name": n, "type": t} for n, t, _ in meta.columns if n in sel]}
                if typ != "DELETE":
                    d["record"] = {k: v for k, v in record.items() if k in sel}
                if typ != "INSERT":
                    keep = sel
                    if typ == "DELETE" and meta.rls:
                        keep = sel & set(meta.pk)
                    d["old_record"] = {k: v for k, v in old_record.items() if k in keep}
                d["errors"] = None
            per_role[role] = d
            return d

        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s.%s -> %d subscriber(s) %s, rls=%s visible=%s", typ, meta.schema, meta.name,
                      len(subs), [(s.channel.name, s.claims.get("sub")) for s in subs], rls,
                      {k[1][:60]: v for k, v in visible.items()})
        by_channel = {}
        for s in subs:
            by_channel.setdefault(s.channel, []).append(s)
        for ch, lst in by_channel.items():
            ids = []
            for s in lst:
                if s.id not in ids:
                    ids.append(s.id)
            try:
                ch.deliver_postgres_change(ids, data_for(lst[0].role))
            except Exception:
                log.exception("delivery to a channel failed")

    def _probe(self, meta, new_cols):
        if not all(c in new_cols for c in meta.pk) or not meta.pk:
            return None
        cond = sql.SQL(" and ").join(
            sql.SQL("{} = {}::{}").format(sql.Identifier(c), sql.Literal(new_cols[c]), meta.type_ident(c))
            for c in meta.pk)
        return sql.SQL("exists(select 1 from {} where {})").format(
            sql.Identifier(meta.schema, meta.name), cond)

    @staticmethod
    def _claims_setup(role, claims):
        return sql.SQL(
            "select set_config('role', {}, true), set_config('request.jwt.claims', {}, true),"
            " set_config('request.jwt.claim.sub', {}, true), set_config('request.jwt.claim.role', {}, true)"
        ).format(sql.Literal(role), sql.Literal(json.dumps(claims or {})),
                 sql.Literal(str((claims or {}).get("sub") or "")), sql.Literal(role))

    async def _wait_visible(self, xid, deadline=1.0):
        """Logical decoding can hand us a commit a moment before the transaction is visible to
        new snapshots (the commit record is in the WAL before the ProcArray is updated); an RLS
        probe in that window would not see the row. Wait (briefly) until it is visible."""
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        while True:
            cur = await self.conn.execute(sql.SQL("select ") + self._xvis(xid))
            if (await cur.fetchone())[0] or loop.time() > end:
                return
            await asyncio.sleep(0.0002)

    @staticmethod
    def _xvis(xid):
        return sql.SQL("pg_visible_in_snapshot((((pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
                       " >> 32) << 32) + {})::text::xid8, pg_current_snapshot()) as rt_xvis").format(
            sql.Literal(int(xid)))

    async def _change_queries(self, meta, new_cols, head, groups, xid=None):
        """Fast path: ONE round trip (simple query protocol, several statements) with the typed
        values + filters row and, inside one transaction, a SAVEPOINT / set_config / exists /
        ROLLBACK TO SAVEPOINT block per (role, claims) group. Returns (row, {claims_key: bool});
        row is None if anything failed (the caller then isolates the failure per group)."""
        stmts = [head] if head is not None else [sql.SQL("select")]
        keys = list(groups)
        probe = self._probe(meta, new_cols) if keys else None
        if keys and probe is not None and xid is not None:
            stmts.append(sql.SQL("select ") + self._xvis(xid))
        if keys and probe is not None:
            stmts.append(sql.SQL("begin"))
            for k, key in enumerate(keys):
                stmts += [sql.SQL("savepoint rt_g"), self._claims_setup(key[0], groups[key]),
                          sql.SQL("select {} as {}").format(probe, sql.Identifier("rt_v%d" % k)),
                          sql.SQL("rollback to savepoint rt_g")]
            stmts.append(sql.SQL("commit"))
        visible = {}
        row = None
        invisible = False
        try:
            cur = self.conn.cursor()
            await cur.execute(sql.SQL("; ").join(stmts))
            while True:
                if cur.description:
                    name = cur.description[0].name
                    r = await cur.fetchone()
                    if row is None and head is not None and not name.startswith("rt_v") \
                            and name != "set_config":
                        row = list(r)
                    elif name == "rt_xvis":
                        if not r[0]:
                            invisible = True
                    elif name.startswith("rt_v"):
                        visible[keys[int(name[4:])]] = bool(r[0])
                if not cur.nextset():
                    break
            if head is None:
                row = []
            if invisible:
                log.debug("xid %s decoded before it is visible to new snapshots; waiting", xid)
                # committed but not yet visible: wait, then probe again (the slow path)
                await self._wait_visible(xid)
                return row, await self._rls(meta, new_cols, groups)
            return row, visible
        except psycopg.Error as e:
            log.info("combined change query failed (%s); isolating per subscriber", e)
            try:
                if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    await self.conn.execute("rollback")
            except psycopg.Error:
                pass
            await self._reset_conn()
            return None, {}

    def _db_broadcast(self, rec):
        """A row inserted into realtime.messages goes out as a user broadcast on its topic, as
        Realtime's replication connection does it: rows without an id, topic, event, private
        flag or payload are skipped (Realtime logs UnableToBroadcastChanges)."""
        cols = {c.get("name"): c.get("value") for c in rec.get("columns") or ()}
        if not self.on_broadcast:
            return
        topic, event, mid, private = cols.get("topic"), cols.get("event"), cols.get("id"), cols.get("private")
        if not all(isinstance(v, str) for v in (topic, event, mid)) or not isinstance(private, bool):
            return
        binary, payload = cols.get("binary_payload"), cols.get("payload")
        if isinstance(binary, str):                  # wal2json: bytea as hex digits
            try:
                data, is_binary = bytes.fromhex(binary[2:] if binary.startswith("\\x") else binary), True
            except ValueError:
                return
        elif isinstance(payload, str):
            data, is_binary = payload.encode(), False
        else:
            return
        try:
            self.on_broadcast(private, topic, event, data, is_binary, mid)
        except Exception:
            log.exception("broadcast from the database failed")

    async def _fallback_row(self, exprs, fexprs):
        row = []
        for i, e in enumerate(exprs + fexprs):
            try:
                cur = await self.conn.execute(sql.SQL("select ") + e)
                row.append((await cur.fetchone())[0])
            except psycopg.Error:
                await self._reset_conn()
                row.append(None if i < len(exprs) else False)
        return row

    async def _rls(self, meta, new_cols, groups):
        """{claims_key: bool} — visibility of the committed row for each (role, claims) group,
        evaluated in PostgreSQL as that role with those claims, one SAVEPOINT each."""
        result = {}
        expr = self._probe(meta, new_cols)
        if expr is None:
            return result
        probe = sql.SQL("select ") + expr
        conn = self.conn
        try:
            async with conn.transaction():
                for key, claims in groups.items():
                    role = key[0]
                    setup = self._claims_setup(role, claims)
                    try:
                        async with conn.transaction():          # SAVEPOINT
                            await conn.execute(setup)
                            cur = await conn.execute(probe)
                            result[key] = bool((await cur.fetchone())[0])
                            raise psycopg.Rollback()           # ROLLBACK TO SAVEPOINT
                    except psycopg.Error as e:
                        result[key] = False
                        log.warning("RLS check on %s.%s failed for role %s (delivery skipped for this "
                                    "subscriber): %s", meta.schema, meta.name, role, e)
        except psycopg.Error as e:
            log.warning("RLS transaction failed: %s", e)
            await self._reset_conn()
        return result
