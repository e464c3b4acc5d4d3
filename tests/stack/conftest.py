"""pytest fixtures for the local Supabase stand-in.

`stack` (session scope): a running stack (`stack up --dir <tmp> --port 0`), torn down at the end.
Attributes: url, anon_key, service_key (the legacy JWT keys), publishable_key, secret_key,
legacy_keys ("on"/"off"), client_key (anon_key, or publishable_key with the legacy keys off), keys (standin.keys.ProjectKeys, read from the stack's keys.json),
database_url, dir, email, password, port, env (dict);
methods: run(*args) (the CLI with --dir filled in), http(...), sign_in(...), request(...).
`make_stack(*up_args, env=None)`: factory for additional stacks (each torn down at the end), e.g.
make_stack("--legacy-keys", "off") or make_stack(env={"STANDIN_PUBLIC_CONNECTION_MAX_S": "3"}).
"""
import http.client
import json
import os
import shlex
import subprocess
import sys
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
STACK = os.path.join(HERE, "stack")
if HERE not in sys.path:
    sys.path.insert(0, HERE)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.text[:300])


class Stack:
    def __init__(self, dir, env):
        self.dir = dir
        self.env = env
        self.url = env["WRENCHBELL_URL"]
        self.anon_key = env["WRENCHBELL_ANON_KEY"]
        self.service_key = env["SERVICE_ROLE_KEY"]
        self.publishable_key = env["WRENCHBELL_PUBLISHABLE_KEY"]
        self.secret_key = env["SECRET_KEY"]
        self.legacy_keys = env["LEGACY_KEYS"]
        # What a client sends by default: the legacy anon key, the publishable key once it is off.
        self.client_key = self.anon_key if self.legacy_keys == "on" else self.publishable_key
        self.database_url = env["DATABASE_URL"]
        self.email = env["WRENCHBELL_EMAIL"]
        self.password = env["WRENCHBELL_PASSWORD"]
        self.port = int(urllib.parse.urlsplit(self.url).port)

    @property
    def keys(self):
        from standin.keys import ProjectKeys
        return ProjectKeys.load(self.dir)

    # -- CLI
    def run(self, *args, check=True, timeout=180, input=None):
        args = [str(a) for a in args]
        cmd = [STACK, args[0], "--dir", self.dir] + args[1:]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(shlex.quote(c) for c in cmd),
                                                              r.returncode, r.stdout[-2000:], r.stderr[-3000:]))
        return r

    def request(self, *args):
        """`stack request ARGS`; returns the printed JSON objects."""
        r = self.run("request", *args)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def sql(self, query):
        r = self.run("psql", "-At", "-c", query)
        return r.stdout.strip()

    # -- HTTP
    def http(self, method, path, body=None, headers=None, token=None, apikey=True, raw=None, timeout=30):
        """apikey: True for client_key, False for none, or the key to send."""
        h = {}
        if apikey:
            h["apikey"] = self.client_key if apikey is True else apikey
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if body is not None or raw is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def http_ok(self):
        try:
            return self.http("GET", "/_stack/health", timeout=1).status == 200
        except OSError:
            return False

    def sign_in(self, email=None, password=None, headers=None):
        r = self.http("POST", "/auth/v1/token?grant_type=password",
                      {"email": email or self.email, "password": password or self.password},
                      headers=headers or {"X-Supabase-Api-Version": "2024-01-01"})
        assert r.status == 200, r
        return r.json()

    def refresh(self, refresh_token):
        return self.http("POST", "/auth/v1/token?grant_type=refresh_token", {"refresh_token": refresh_token},
                         headers={"X-Supabase-Api-Version": "2024-01-01"})

    def fault(self, kind, *args):
        return self.run("fault", kind, *args)

    def state(self):
        with open(os.path.join(self.dir, "state.json")) as f:
            return json.load(f)


def parse_env(text):
    env = {}
    for line in text.splitlines():
        if "=" in line:
            k, _, v = line.partition("=")
            env[k.strip()] = shlex.split(v)[0] if v else ""
    return env


def stack_up(dir, *up_args, env=None):
    """`stack up --dir DIR --port 0 UP_ARGS…` with extra environment for the stand-in."""
    full_env = dict(os.environ, **(env or {}))
    r = subprocess.run([STACK, "up", "--dir", dir, "--port", "0"] + list(up_args), capture_output=True,
                       text=True, timeout=180, env=full_env)
    if r.returncode != 0:
        raise RuntimeError("stack up failed:\n" + r.stdout + r.stderr)
    return Stack(dir, parse_env(r.stdout))


def stack_down(dir):
    subprocess.run([STACK, "down", "--dir", dir, "--quiet"], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("stack"))
    s = stack_up(d)
    try:
        yield s
    finally:
        stack_down(d)


@pytest.fixture(scope="session")
def make_stack(tmp_path_factory):
    dirs = []

    def make(*up_args, env=None):
        d = str(tmp_path_factory.mktemp("stack-extra"))
        dirs.append(d)
        return stack_up(d, *up_args, env=env)

    try:
        yield make
    finally:
        for d in dirs:
            stack_down(d)


@pytest.fixture
def clear_faults(stack):
    yield
    stack.fault("clear")
