"""PostgREST subset (supabase-protocol.md §5) on /rest/v1.

GET|HEAD /rest/v1/<table>?select=...&<col>=<op>.<value>&order=...&limit=&offset=
    select: columns, `*`, `alias:col`, `col::type`, json paths `col->key`/`col->>key`,
            embedded resources through foreign keys `rel(cols)`, `alias:rel!hint(cols)`, `rel!inner(...)`
            (to-one gives an object or null, to-many an array; nesting allowed)
    filters: eq neq gt gte lt lte like ilike is in, optionally prefixed by `not.`
    order: col[.asc|.desc][.nullsfirst|.nullslast], comma separated; Range header; Prefer count=exact
    Accept: application/vnd.pgrst.object+json => bare object or 406 PGRST116
POST /rest/v1/<table>   insert (object or array); Prefer return=minimal|representation|headers-only,
                        resolution=merge-duplicates|ignore-duplicates (+ on_conflict=)
PATCH /rest/v1/<table>?filters   update;  DELETE /rest/v1/<table>?filters
POST|GET /rest/v1/rpc/<fn>       named arguments (JSON object / query params)

Every statement runs in a transaction as the caller's role with request.jwt.claims set (RLS applies).
SQL is built with psycopg.sql (identifiers checked against the schema cache, values as literals).
"""
import asyncio
import json
import logging
import re

import psycopg
from psycopg import sql
from aiohttp import web

from . import config, jwtutil

log = logging.getLogger("standin.rest")

OBJECT_MEDIA = "application/vnd.pgrst.object+json"
SCHEMA = "public"
STATEMENT_TIMEOUT = "15s"


class RestError(Exception):
    def __init__(self, status, code, message, details=None, hint=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}

    def response(self):
        body = {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}
        return web.json_response(body, status=self.status, headers=self.headers)


def bad_request(message, details=None):
    return RestError(400, "PGRST100", message, details)


# ------------------------------------------------------------------------------ schema cache
class Table:
    def __init__(self, name, kind):
        self.name = name
        self.kind = kind
        self.columns = []           # ordered names
        self.types = {}
        self.pk = []


class Rel:
    """A foreign key: table.cols -> ftable.fcols, constraint name."""

    def __init__(self, name, table, cols, ftable, fcols):
        self.name, self.table, self.cols, self.ftable, self.fcols = name, table, cols, ftable, fcols


class Func:
    def __init__(self, name, argnames, argtypes, nargs_default, retset, rettype_composite, volatile):
        self.name = name
        self.argnames = argnames
        self.argtypes = argtypes
        self.nargs_default = nargs_default
        self.retset = retset
        self.composite = rettype_composite
        self.volatile = volatile


class SchemaCache:
    def __init__(self):
        self.tables = {}
        self.rels = []
        self.funcs = {}
        self.lock = asyncio.Lock()
        self.loaded = False

    async def load(self, db):
        async with self.lock:
            tables, rels, funcs = {}, [], {}
            async with db.service() as cur:
                await cur.execute(
                    "select c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod)"
                    " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                    " join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped"
                    " where n.nspname = %s and c.relkind in ('r','v','m','p','f')"
                    " order by c.relname, a.attnum", (SCHEMA,))
                for rel, kind, col, typ in await cur.fetchall():
                    t = tables.setdefault(rel, Table(rel, kind))
                    t.columns.append(col)
                    t.types[col] = typ
                await cur.execute(
                    "select con.conname, c.relname, fc.relname, con.contype,"
                    " array(select a.attname from unnest(con.conkey) with ordinality k(n, i)"
                    "       join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n order by k.i),"
                    " array(select a.attname from unnest(con.confkey) with ordinality k(n, i)"
                    "       join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n order by k.i)"
                    " from pg_constraint con join pg_class c on c.oid = con.conrelid"
                    " join pg_namespace n on n.oid = c.relnamespace"
                    " left join pg_class fc on fc.oid = con.confrelid"
                    " left join pg_namespace fn on fn.oid = fc.relnamespace"
                    " where n.nspname = %s and con.contype in ('f', 'p')"
                    "   and (con.contype = 'p' or fn.nspname = %s)", (SCHEMA, SCHEMA))
                for conname, rel, frel, contype, cols, fcols in await cur.fetchall():
                    if contype == "p" and rel in tables:
                        tables[rel].pk = list(cols)
                    elif contype == "f" and rel in tables and frel in tables:
                        rels.append(Rel(conname, rel, list(cols), frel, list(fcols)))
                await cur.execute(
                    "select p.proname, coalesce(p.proargnames, '{}'),"
                    " array(select format_type(t, null) from unnest(p.proargtypes) t),"
                    " p.pronargdefaults, p.proretset, rt.typtype = 'c' or rt.typname = 'record', p.provolatile,"
                    " coalesce(p.proargmodes::text[], '{}')"
                    " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
                    " join pg_type rt on rt.oid = p.prorettype"
                    " where n.nspname = %s and p.prokind = 'f'"
                    "   and rt.typname not in ('trigger', 'event_trigger')", (SCHEMA,))
                for name, argnames, argtypes, ndef, retset, comp, vol, modes in await cur.fetchall():
                    if modes:
                        names = [n for n, m in zip(argnames, modes) if m in ("i", "b", "v")]
                    else:
                        names = list(argnames[:len(argtypes)])
                    if len(names) != len(argtypes) or any(not n for n in names):
                        continue  # unnamed arguments cannot be called by name
                    funcs.setdefault(name, []).append(Func(name, names, list(argtypes), ndef, retset, comp, vol))
            self.tables, self.rels, self.funcs, self.loaded = tables, rels, funcs, True

    async def table(self, db, name):
        if not self.loaded or name not in self.tables:
            await self.load(db)
        t = self.tables.get(name)
        if t is None:
            hint = None
            close = [n for n in self.tables if n.startswith(name[:3])] if name else []
            if close:
                hint = "Perhaps you meant the table '%s.%s'" % (SCHEMA, close[0])
            raise RestError(404, "PGRST205", "Could not find the table '%s.%s' in the schema cache"
                            % (SCHEMA, name), None, hint)
        return t

    def relationships(self, src, target):
        """Candidate (kind, rel) pairs embedding target into src."""
        out = []
        for r in self.rels:
            if r.table == src and r.ftable == target:
                out.append(("one", r))      # src holds the FK: many-to-one => object
            if r.ftable == src and r.table == target and not (r.table == r.ftable and ("one", r) in out):
                out.append(("many", r))     # target holds the FK: one-to-many => array
        return out


# ------------------------------------------------------------------------------ request parsing
IDENT = r"[A-Za-z_][A-Za-z0-9_$]*"
FIELD_RE = re.compile(r"^(%s)((?:->>?(?:%s|-?\d+))*)(?:::(%s(?:\[\])?))?$" % (IDENT, IDENT, IDENT))
EMBED_RE = re.compile(r"^(?:(%s):)?(%s)(?:!(%s))?(?:!(%s))?\((.*)\)$" % (IDENT, IDENT, IDENT, IDENT), re.S)
ALIAS_RE = re.compile(r"^(%s):(?!:)(.*)$" % IDENT, re.S)
CASTS = {"text", "int", "integer", "bigint", "numeric", "float8", "float", "boolean", "bool", "json", "jsonb",
         "uuid", "date", "timestamptz", "timestamp", "varchar", "smallint", "real"}


def split_top(s, sep=","):
    parts, depth, cur, quote = [], 0, [], False
    for ch in s:
        if ch == '"':
            quote = not quote
        if not quote:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    raise bad_request('"failed to parse select parameter (%s)"' % s,
                                      "unexpected \")\"")
        if ch == sep and depth == 0 and not quote:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise bad_request("\"failed to parse select parameter (%s)\"" % s, "unbalanced parentheses")
    parts.append("".join(cur))
    return parts


class Field:
    """A column with an optional JSON path and cast."""

    def __init__(self, col, path, cast):
        self.col, self.path, self.cast = col, path, cast

    @property
    def default_name(self):
        if self.path:
            return self.path[-1][1]
        return self.col

    def sql(self, alias):
        expr = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(self.col))
        for op, key in self.path:
            k = sql.Literal(int(key)) if re.fullmatch(r"-?\d+", key) else sql.Literal(key)
            expr = sql.SQL("({} " + op + " {})").format(expr, k)
        if self.cast:
            expr = sql.SQL("({})::{}").format(expr, sql.SQL(self.cast))
        return expr


def parse_field(text, what="select"):
    m = FIELD_RE.match(text.strip())
    if not m:
        raise bad_request('"failed to parse %s parameter (%s)"' % (what, text), None)
    col, pathtxt, cast = m.group(1), m.group(2), m.group(3)
    path = re.findall(r"(->>?)(%s|-?\d+)" % IDENT, pathtxt) if pathtxt else []
    if cast and cast.rstrip("[]").lower() not in CASTS:
        raise bad_request('"failed to parse %s parameter (%s)"' % (what, text), "unsupported cast %s" % cast)
    return Field(col, path, cast.lower() if cast else None)


def unknown_column(table, col):
    return RestError(400, "42703", "column %s.%s does not exist" % (table, col))


class Select:
    """Parsed select list for one table (items are ('field', name, Field) or ('embed', name, Embed))."""

    def __init__(self):
        self.items = []


class Embed:
    def __init__(self, kind, rel, table, select, inner):
        self.kind, self.rel, self.table, self.select, self.inner = kind, rel, table, select, inner


async def parse_select(cache, db, table, text, depth=0):
    if depth > 4:
        raise bad_request("embedding too deep")
    sel = Select()
    text = (text or "*").strip() or "*"
    for raw in split_top(text):
        item = raw.strip()
        if not item:
            raise bad_request('"failed to parse select parameter (%s)"' % text, "empty item")
        if item == "*":
            for c in table.columns:
                sel.items.append(("field", c, Field(c, [], None)))
            continue
        m = EMBED_RE.match(item)
        if m:
            alias, relname, hint1, hint2, inner_text = m.groups()
            hints = [h for h in (hint1, hint2) if h]
            inner = "inner" in hints
            hint = next((h for h in hints if h not in ("inner", "left")), None)
            embed = await resolve_embed(cache, db, table, relname, hint, inner)
            embed.select = await parse_select(cache, db, embed.table, inner_text, depth + 1)
            sel.items.append(("embed", alias or relname, embed))
            continue
        alias = None
        m = ALIAS_RE.match(item)
        if m:
            alias, item = m.group(1), m.group(2)
        f = parse_field(item)
        if f.col not in table.types:
            raise unknown_column(table.name, f.col)
        sel.items.append(("field", alias or f.default_name, f))
    return sel


async def resolve_embed(cache, db, table, relname, hint, inner):
    candidates = []
    if relname in cache.tables or (await _reload_has(cache, db, relname)):
        candidates = cache.relationships(table.name, relname)
    else:
        # `fk_column(...)` or `constraint_name(...)`: embed the referenced table through it.
        for r in cache.rels:
            if r.table == table.name and (relname in (r.name,) or r.cols == [relname]):
                candidates.append(("one", r))
    if hint:
        candidates = [(k, r) for k, r in candidates
                      if hint == r.name or hint in r.cols or hint in r.fcols or hint in (r.table, r.ftable)]
    if not candidates:
        raise RestError(400, "PGRST200",
                        "Could not find a relationship between '%s' and '%s' in the schema cache"
                        % (table.name, relname),
                        "Searched for a foreign key relationship between '%s' and '%s' in the schema "
                        "'%s', but no matches were found." % (table.name, relname, SCHEMA))
    if len(candidates) > 1:
        details = [{"cardinality": "many-to-one" if k == "one" else "one-to-many",
                    "embedding": "%s with %s" % (table.name, relname),
                    "relationship": "%s using %s(%s) and %s(%s)" % (r.name, r.table, ", ".join(r.cols),
                                                                    r.ftable, ", ".join(r.fcols))}
                   for k, r in candidates]
        raise RestError(300, "PGRST201",
                        "Could not embed because more than one relationship was found for '%s' and '%s'"
                        % (table.name, relname), details,
                        "Try changing '%s' to one of the following: %s. Find the desired relationship in "
                        "the 'details' key." % (relname, ", ".join("'%s!%s'" % (relname, r.name)
                                                                   for _, r in candidates)))
    kind, rel = candidates[0]
    target = cache.tables[rel.ftable if kind == "one" else rel.table]
    return Embed(kind, rel, target, None, inner)


async def _reload_has(cache, db, name):
    return False


def select_json(sel, alias, counter):
    """SQL expression building the JSON object for one row of alias."""
    args = []
    for kind, name, obj in sel.items:
        args.append(sql.Literal(name))
        if kind == "field":
            args.append(obj.sql(alias))
        else:
            args.append(embed_sql(obj, alias, counter))
    if not args:
        return sql.SQL("json_build_object()")
    # json_build_object takes at most 100 arguments; merge chunks for wide selects.
    chunks = [args[i:i + 100] for i in range(0, len(args), 100)]
    parts = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(c)) for c in chunks]
    if len(parts) == 1:
        return sql.SQL("json_build_object({})").format(sql.SQL(", ").join(args))
    return sql.SQL("({})::json").format(sql.SQL(" || ").join(parts))


def embed_sql(embed, parent_alias, counter):
    counter[0] += 1
    alias = "pgrst_%d" % counter[0]
    rel = embed.rel
    if embed.kind == "one":
        conds = [sql.SQL("{}.{} = {}.{}").format(sql.Identifier(alias), sql.Identifier(fc),
                                                 sql.Identifier(parent_alias), sql.Identifier(c))
                 for c, fc in zip(rel.cols, rel.fcols)]
        return sql.SQL("(select {} from {}.{} {} where {} limit 1)").format(
            select_json(embed.select, alias, counter), sql.Identifier(SCHEMA), sql.Identifier(embed.table.name),
            sql.Identifier(alias), sql.SQL(" and ").join(conds))
    conds = [sql.SQL("{}.{} = {}.{}").format(sql.Identifier(alias), sql.Identifier(c),
                                             sql.Identifier(parent_alias), sql.Identifier(fc))
             for c, fc in zip(rel.cols, rel.fcols)]
    return sql.SQL("(select coalesce(json_agg({}), '[]'::json) from {}.{} {} where {})").format(
        select_json(embed.select, alias, counter), sql.Identifier(SCHEMA), sql.Identifier(embed.table.name),
        sql.Identifier(alias), sql.SQL(" and ").join(conds))


def inner_conditions(sel, alias, counter):
    """`!inner` embeds: the parent row only appears if the embed has rows."""
    out = []
    for kind, name, obj in sel.items:
        if kind == "embed" and obj.inner:
            counter[0] += 1
            a = "pgrst_i%d" % counter[0]
            rel = obj.rel
            if obj.kind == "one":
                conds = [sql.SQL("{}.{} = {}.{}").format(sql.Identifier(a), sql.Identifier(fc),
                                                         sql.Identifier(alias), sql.Identifier(c))
                         for c, fc in zip(rel.cols, rel.fcols)]
            else:
                conds = [sql.SQL("{}.{} = {}.{}").format(sql.Identifier(a), sql.Identifier(c),
                                                         sql.Identifier(alias), sql.Identifier(fc))
                         for c, fc in zip(rel.cols, rel.fcols)]
            out.append(sql.SQL("exists (select 1 from {}.{} {} where {})").format(
                sql.Identifier(SCHEMA), sql.Identifier(obj.table.name), sql.Identifier(a),
                sql.SQL(" and ").join(conds)))
    return out


OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE", "ilike": "ILIKE"}
RESERVED = {"select", "order", "limit", "offset", "on_conflict", "columns", "apikey"}


def parse_in_list(value, raw):
    if not (value.startswith("(") and value.endswith(")")):
        raise bad_request('"failed to parse filter (%s)"' % raw, "in. needs a parenthesised list")
    inner = value[1:-1]
    items, cur, quote, i = [], [], False, 0
    if inner == "":
        return []
    while i < len(inner):
        ch = inner[i]
        if quote:
            if ch == "\\" and i + 1 < len(inner):
                cur.append(inner[i + 1])
                i += 2
                continue
            if ch == '"':
                quote = False
            else:
                cur.append(ch)
        elif ch == '"':
            quote = True
        elif ch == ",":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    if quote:
        raise bad_request('"failed to parse filter (%s)"' % raw, "unterminated quote")
    items.append("".join(cur))
    return items


def parse_filter(table, alias, key, value):
    raw = "%s=%s" % (key, value)
    f = parse_field(key, "filter")
    if f.col not in table.types:
        raise unknown_column(table.name, f.col)
    expr = f.sql(alias)
    negate = False
    if value.startswith("not."):
        negate, value = True, value[4:]
    op, dot, arg = value.partition(".")
    if not dot:
        raise bad_request('"failed to parse filter (%s)"' % value, None)
    if op in OPS:
        if op in ("like", "ilike"):
            arg = arg.replace("*", "%")
        cond = sql.SQL("{} " + OPS[op] + " {}").format(expr, sql.Literal(arg))
    elif op == "is":
        v = arg.lower()
        if v not in ("null", "true", "false", "unknown", "not_null"):
            raise bad_request('"failed to parse filter (%s)"' % value, "is. accepts null, true, false, unknown")
        cond = sql.SQL("{} IS NOT NULL" if v == "not_null" else "{} IS " + v.upper()).format(expr)
    elif op == "in":
        items = parse_in_list(arg, value)
        if not items:
            cond = sql.SQL("false")
        else:
            cond = sql.SQL("{} = ANY({})").format(expr, sql.SQL("ARRAY[{}]").format(
                sql.SQL(", ").join(sql.Literal(x) for x in items)))
            # Let PostgreSQL coerce like PostgREST: compare as the column's type.
            if not f.path and not f.cast:
                cond = sql.SQL("{} = ANY({}::{}[])").format(expr, sql.SQL("ARRAY[{}]").format(
                    sql.SQL(", ").join(sql.Literal(x) for x in items)),
                    sql.SQL(table.types[f.col].replace("[]", "")))
    else:
        raise bad_request('"failed to parse filter (%s)"' % value, "unknown operator %s" % op)
    if negate:
        cond = sql.SQL("NOT ({})").format(cond)
    return cond


def parse_order(table, alias, text):
    out = []
    for part in split_top(text):
        part = part.strip()
        if not part:
            continue
        bits = part.split(".")
        f = parse_field(bits[0], "order")
        if f.col not in table.types:
            raise unknown_column(table.name, f.col)
        clause = [f.sql(alias)]
        for b in bits[1:]:
            if b in ("asc", "desc"):
                clause.append(sql.SQL(b.upper()))
            elif b in ("nullsfirst", "nullslast"):
                clause.append(sql.SQL("NULLS FIRST" if b == "nullsfirst" else "NULLS LAST"))
            else:
                raise bad_request('"failed to parse order (%s)"' % text, "unexpected \"%s\"" % b)
        out.append(sql.SQL(" ").join(clause))
    return out


def parse_int(name, value):
    try:
        v = int(value)
        if v < 0:
            raise ValueError
        return v
    except (TypeError, ValueError):
        raise bad_request('"failed to parse %s parameter (%s)"' % (name, value), None)


def prefer(request):
    out = {}
    for h in request.headers.getall("Prefer", []):
        for part in h.split(","):
            k, _, v = part.strip().partition("=")
            if k:
                out[k.strip()] = v.strip()
    return out


# ------------------------------------------------------------------------------ auth + errors
def claims_of(request):
    authz = request.headers.get("Authorization")
    token = None
    if authz is not None:
        scheme, _, rest = authz.strip().partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
            if not token:
                raise jwt_error(jwtutil.JwtError("empty", "", "", "PGRST301",
                                                 "Empty JWT is sent in Authorization header"))
    if token is None:
        token = request.headers.get("apikey")
    if not token:
        return {"role": "anon"}
    try:
        claims = jwtutil.verify(token, require=(), leeway=config.REST_JWT_LEEWAY)
    except jwtutil.JwtError as e:
        raise jwt_error(e)
    return claims


def jwt_error(e):
    desc = e.pgrst_message.replace('"', "'")
    return RestError(401, e.pgrst_code, e.pgrst_message, e.pgrst_details, None,
                     {"WWW-Authenticate": 'Bearer error="invalid_token", error_description="%s"' % desc})


def pg_error(e, role):
    state = e.sqlstate or ""
    diag = e.diag
    msg = diag.message_primary or str(e)
    details, hint = diag.message_detail, diag.message_hint
    if state == "42501":
        status = 401 if role == "anon" else 403
    elif state in ("23505", "23503"):
        status = 409
    elif state in ("42P01", "42883"):
        status = 404
    elif state == "P0001":
        status = 400
    elif state.startswith("PT") and state[2:].isdigit():
        status = int(state[2:])
    elif state.startswith("08"):
        status = 503
    elif state == "57014":
        status = 500
    elif state[:2] in ("22", "23", "42"):
        status = 400
    elif state == "25006":
        status = 405
    else:
        status = 500
    return RestError(status, state or "PGRST000", msg, details, hint)


def check_profile(request, header):
    prof = request.headers.get(header)
    if prof and prof != SCHEMA:
        raise RestError(406, "PGRST106", "Invalid schema: %s" % prof, None,
                        "Only the following schemas are exposed: %s" % SCHEMA)


def wants_object(request):
    return OBJECT_MEDIA in request.headers.get("Accept", "")


def content_range(offset, n, total):
    t = "*" if total is None else str(total)
    if n == 0:
        return "*/%s" % t
    return "%d-%d/%s" % (offset, offset + n - 1, t)


async def read_body(request):
    raw = await request.read()
    try:
        if not raw.strip():
            raise ValueError
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RestError(400, "PGRST102", "Empty or invalid json")


def single_error(n):
    return RestError(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                     "The result contains %d rows" % n)


class _Rollback(Exception):
    def __init__(self, err):
        self.err = err


async def run(request, claims, build):
    """Runs build(cur) in a transaction as the caller; maps database errors."""
    ctx = request.app["ctx"]
    role = claims.get("role") or "anon"
    try:
        async with ctx.db.as_claims(claims) as cur:
            await cur.execute(sql.SQL("select set_config('statement_timeout', {}, true)").format(
                sql.Literal(STATEMENT_TIMEOUT)))
            return await build(cur)
    except RestError:
        raise
    except psycopg.errors.InvalidParameterValue as e:
        if "role" in str(e):
            raise RestError(401, "22023", str(e.diag.message_primary or e), None, None)
        raise pg_error(e, role)
    except (psycopg.OperationalError, psycopg.InterfaceError) as e:
        if getattr(e, "sqlstate", None) and not e.sqlstate.startswith("08"):
            raise pg_error(e, role)
        raise RestError(503, "PGRST001", "Database client error. Retrying the connection.", str(e), None)
    except psycopg.Error as e:
        raise pg_error(e, role)


def json_response(request, body_text, status=200, headers=None, single=False):
    headers = dict(headers or {})
    ctype = (OBJECT_MEDIA if single else "application/json") + "; charset=utf-8"
    headers["Content-Type"] = ctype
    if request.method == "HEAD":
        return web.Response(status=status, headers=headers)
    return web.Response(status=status, body=body_text.encode("utf-8"), headers=headers)


# ------------------------------------------------------------------------------ handlers
def _cache(request):
    return request.app["rest_schema"]


async def _table(request):
    check_profile(request, "Accept-Profile" if request.method in ("GET", "HEAD") else "Content-Profile")
    name = request.match_info["table"]
    return await _cache(request).table(request.app["ctx"].db, name)


def _filters(request, table, alias):
    conds = []
    for key, value in request.query.items():
        if key in RESERVED:
            continue
        if key in ("or", "and", "not.or", "not.and"):
            raise bad_request('"failed to parse logic tree (%s)"' % value, "or/and filters are not supported "
                              "by the stand-in")
        conds.append(parse_filter(table, alias, key, value))
    return conds


async def handle_read(request):
    claims = claims_of(request)
    cache = _cache(request)
    db = request.app["ctx"].db
    table = await _table(request)
    q = request.query
    sel = await parse_select(cache, db, table, q.get("select", "*"))
    alias = "pgrst_0"
    counter = [0]
    conds = _filters(request, table, alias) + inner_conditions(sel, alias, counter)
    order = parse_order(table, alias, q["order"]) if "order" in q else []
    offset = parse_int("offset", q["offset"]) if "offset" in q else 0
    limit = parse_int("limit", q["limit"]) if "limit" in q else None
    rng = request.headers.get("Range")
    if rng and (request.headers.get("Range-Unit", "items") == "items"):
        m = re.fullmatch(r"\s*(\d+)-(\d*)\s*", rng)
        if m:
            offset = int(m.group(1))
            if m.group(2):
                rl = int(m.group(2)) - offset + 1
                limit = rl if limit is None else min(limit, rl)
    where = sql.SQL(" where {}").format(sql.SQL(" and ").join(conds)) if conds else sql.SQL("")
    order_sql = sql.SQL(" order by {}").format(sql.SQL(", ").join(order)) if order else sql.SQL("")
    lim_sql = sql.SQL(" limit {}").format(sql.Literal(limit)) if limit is not None else sql.SQL("")
    off_sql = sql.SQL(" offset {}").format(sql.Literal(offset)) if offset else sql.SQL("")
    src = sql.SQL("{}.{} {}").format(sql.Identifier(SCHEMA), sql.Identifier(table.name), sql.Identifier(alias))
    query = sql.SQL("select coalesce(json_agg(pgrst_r.j), '[]'::json)::text, count(*) from "
                    "(select {} as j from {}{}{}{}{}) pgrst_r").format(
        select_json(sel, alias, counter), src, where, order_sql, lim_sql, off_sql)
    want_count = prefer(request).get("count") in ("exact", "planned", "estimated")

    async def build(cur):
        await cur.execute(query)
        text, n = await cur.fetchone()
        total = None
        if want_count:
            await cur.execute(sql.SQL("select count(*) from {}{}").format(src, where))
            total = (await cur.fetchone())[0]
        return text, n, total

    text, n, total = await run(request, claims, build)
    headers = {"Content-Range": content_range(offset, n, total)}
    if wants_object(request):
        if n != 1:
            raise single_error(n)
        obj = json.loads(text)[0]
        return json_response(request, json.dumps(obj), headers=headers, single=True)
    status = 206 if (total is not None and n < total and request.headers.get("Range")) else 200
    return json_response(request, text, status=status, headers=headers)


def _representation(sel, counter):
    alias = "pgrst_0"
    return sql.SQL("select coalesce(json_agg({}), '[]'::json)::text, count(*) from pgrst_source {}").format(
        select_json(sel, alias, counter), sql.Identifier(alias))


async def _write(request, claims, table, stmt, sel, success_status):
    prefs = prefer(request)
    ret = prefs.get("return", "minimal")
    counter = [0]
    single = wants_object(request)
    if sel is None:
        sel = await parse_select(_cache(request), request.app["ctx"].db, table, "*")
    query = sql.SQL("with pgrst_source as ({} returning {}.*) {}").format(
        stmt, sql.Identifier("pgrst_0"), _representation(sel, counter))

    async def build(cur):
        await cur.execute(query)
        text, n = await cur.fetchone()
        if single and n != 1:
            raise single_error(n)   # rolls the transaction back, like PostgREST
        return text, n

    text, n = await run(request, claims, build)
    headers = {"Content-Range": content_range(0, n, None) if request.method != "POST"
               else "*/*"}
    if ret == "representation":
        headers["Preference-Applied"] = "return=representation"
        if single:
            return json_response(request, json.dumps(json.loads(text)[0]), status=success_status,
                                 headers=headers, single=True)
        return json_response(request, text, status=success_status, headers=headers)
    if request.method == "POST":
        return web.Response(status=201, headers=headers)
    return web.Response(status=204, headers=headers)


async def handle_insert(request):
    claims = claims_of(request)
    table = await _table(request)
    body = await read_body(request)
    rows = body if isinstance(body, list) else [body]
    if not all(isinstance(r, dict) for r in rows):
        raise RestError(400, "PGRST102", "All object keys must match")
    q = request.query
    if "columns" in q:
        cols = [c.strip().strip('"') for c in q["columns"].split(",") if c.strip()]
    else:
        cols = []
        for r in rows:
            for k in r:
                if k not in cols:
                    cols.append(k)
    for c in cols:
        if c not in table.types:
            raise RestError(400, "PGRST204", "Could not find the '%s' column of '%s' in the schema cache"
                            % (c, table.name))
    sel = await parse_select(_cache(request), request.app["ctx"].db, table, q["select"]) \
        if "select" in q else None
    tname = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table.name))
    if not rows or not cols:
        if not rows:
            stmt = sql.SQL("insert into {} as pgrst_0 select * from {} where false").format(tname, tname)
        else:
            stmt = sql.SQL("insert into {} as pgrst_0 default values").format(tname)
    else:
        idents = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        stmt = sql.SQL("insert into {} as pgrst_0 ({}) select {} from json_populate_recordset(null::{}, {}::json)"
                       ).format(tname, idents, idents, tname, sql.Literal(json.dumps(rows)))
        res = prefer(request).get("resolution")
        if res in ("merge-duplicates", "ignore-duplicates"):
            conflict = [c.strip() for c in q.get("on_conflict", "").split(",") if c.strip()] or table.pk
            for c in conflict:
                if c not in table.types:
                    raise unknown_column(table.name, c)
            if not conflict:
                raise bad_request("on_conflict requires a primary key or column list")
            target = sql.SQL(", ").join(sql.Identifier(c) for c in conflict)
            upd = [c for c in cols if c not in conflict]
            if res == "ignore-duplicates" or not upd:
                stmt = sql.SQL("{} on conflict ({}) do nothing").format(stmt, target)
            else:
                stmt = sql.SQL("{} on conflict ({}) do update set {}").format(stmt, target, sql.SQL(", ").join(
                    sql.SQL("{} = excluded.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in upd))
    return await _write(request, claims, table, stmt, sel, 201)


async def handle_update(request):
    claims = claims_of(request)
    table = await _table(request)
    body = await read_body(request)
    if not isinstance(body, dict):
        raise RestError(400, "PGRST102", "Empty or invalid json")
    for c in body:
        if c not in table.types:
            raise RestError(400, "PGRST204", "Could not find the '%s' column of '%s' in the schema cache"
                            % (c, table.name))
    q = request.query
    sel = await parse_select(_cache(request), request.app["ctx"].db, table, q["select"]) \
        if "select" in q else None
    conds = _filters(request, table, "pgrst_0")
    tname = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table.name))
    if not body:
        # Nothing to set: PostgREST answers with the matching rows unchanged.
        stmt = sql.SQL("update {} pgrst_0 set {} = pgrst_0.{} where false").format(
            tname, sql.Identifier(table.columns[0]), sql.Identifier(table.columns[0]))
    else:
        sets = sql.SQL(", ").join(sql.SQL("{} = pgrst_body.{}").format(sql.Identifier(c), sql.Identifier(c))
                                  for c in body)
        where = sql.SQL(" and {}").format(sql.SQL(" and ").join(conds)) if conds else sql.SQL("")
        stmt = sql.SQL("update {} pgrst_0 set {} from json_populate_record(null::{}, {}::json) pgrst_body"
                       " where true{}").format(tname, sets, tname, sql.Literal(json.dumps(body)), where)
    return await _write(request, claims, table, stmt, sel, 200)


async def handle_delete(request):
    claims = claims_of(request)
    table = await _table(request)
    q = request.query
    sel = await parse_select(_cache(request), request.app["ctx"].db, table, q["select"]) \
        if "select" in q else None
    conds = _filters(request, table, "pgrst_0")
    tname = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table.name))
    where = sql.SQL(" where {}").format(sql.SQL(" and ").join(conds)) if conds else sql.SQL("")
    stmt = sql.SQL("delete from {} pgrst_0{}").format(tname, where)
    return await _write(request, claims, table, stmt, sel, 200)


async def handle_rpc(request):
    claims = claims_of(request)
    check_profile(request, "Accept-Profile" if request.method in ("GET", "HEAD") else "Content-Profile")
    cache = _cache(request)
    db = request.app["ctx"].db
    name = request.match_info["fn"]
    if request.method == "POST":
        raw = await request.read()
        if raw.strip():
            try:
                args = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise RestError(400, "PGRST102", "Empty or invalid json")
        else:
            args = {}
        if not isinstance(args, dict):
            raise RestError(400, "PGRST102", "Empty or invalid json")
    else:
        args = {k: v for k, v in request.query.items() if k not in RESERVED}
    if not cache.loaded or name not in cache.funcs:
        await cache.load(db)
    fn = None
    for cand in cache.funcs.get(name, []):
        required = set(cand.argnames[:len(cand.argnames) - cand.nargs_default])
        if set(args) <= set(cand.argnames) and required <= set(args):
            fn = cand
            break
    if fn is None:
        sig = ", ".join(sorted(args))
        raise RestError(404, "PGRST202",
                        "Could not find the function %s.%s%s in the schema cache"
                        % (SCHEMA, name, "(%s)" % sig if sig else " without parameters"),
                        "Searched for the function %s.%s with parameter%s %s or with a single unnamed "
                        "json/jsonb parameter, but no matches were found in the schema cache."
                        % (SCHEMA, name, "s" if len(args) != 1 else "", sig or "no"), None)
    if request.method == "GET" and fn.volatile == "v":
        raise RestError(405, "PGRST101", "Cannot use the GET method on RPC to call a volatile function")
    argsql = []
    for an, at in zip(fn.argnames, fn.argtypes):
        if an not in args:
            continue
        v = args[an]
        if at in ("json", "jsonb"):
            val = sql.SQL("{}::{}").format(sql.Literal(json.dumps(v)), sql.SQL(at))
        elif v is None:
            val = sql.SQL("null::{}").format(sql.SQL(at))
        else:
            text = v if isinstance(v, str) else json.dumps(v)
            val = sql.SQL("{}::{}").format(sql.Literal(text), sql.SQL(at))
        argsql.append(sql.SQL("{} => {}").format(sql.Identifier(an), val))
    call = sql.SQL("{}.{}({})").format(sql.Identifier(SCHEMA), sql.Identifier(name), sql.SQL(", ").join(argsql))
    if fn.retset:
        query = sql.SQL("select coalesce(json_agg(pgrst_r), '[]'::json)::text, count(*) from {} pgrst_r"
                        ).format(call)
    elif fn.composite:
        query = sql.SQL("select to_json(pgrst_r)::text, 1 from {} pgrst_r").format(call)
    else:
        query = sql.SQL("select to_json({})::text, 1").format(call)

    async def build(cur):
        await cur.execute(query)
        return await cur.fetchone()

    text, n = await run(request, claims, build)
    if text is None:
        text = "null"
    if wants_object(request) and fn.retset:
        if n != 1:
            raise single_error(n)
        return json_response(request, json.dumps(json.loads(text)[0]), single=True)
    return json_response(request, text)


async def handle_root(request):
    cache = _cache(request)
    if not cache.loaded:
        await cache.load(request.app["ctx"].db)
    return web.json_response({"swagger": "2.0", "info": {"title": "standin PostgREST subset",
                                                         "version": "14-standin"},
                              "paths": {"/" + t: {} for t in sorted(cache.tables)}})


def _wrap(handler):
    async def wrapped(request):
        try:
            return await handler(request)
        except RestError as e:
            return e.response()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.path)
            return RestError(500, "PGRST000", "Internal error in the stand-in").response()
    return wrapped


async def _on_startup(app):
    try:
        await app["rest_schema"].load(app["ctx"].db)
    except Exception:
        log.exception("schema cache load failed; will retry on first request")


def setup(app):
    app["rest_schema"] = SchemaCache()
    app.on_startup.append(_on_startup)
    r = app.router
    r.add_get("/rest/v1/", _wrap(handle_root))
    r.add_get("/rest/v1", _wrap(handle_root))
    r.add_post("/rest/v1/rpc/{fn}", _wrap(handle_rpc))
    r.add_get("/rest/v1/rpc/{fn}", _wrap(handle_rpc))
    r.add_get("/rest/v1/{table}", _wrap(handle_read))   # also answers HEAD
    r.add_post("/rest/v1/{table}", _wrap(handle_insert))
    r.add_patch("/rest/v1/{table}", _wrap(handle_update))
    r.add_delete("/rest/v1/{table}", _wrap(handle_delete))
