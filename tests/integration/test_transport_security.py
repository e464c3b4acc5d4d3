"""What crosses the network, and what does not: `wrenchbell --headless` refuses plain http:// to
another machine (and sends nothing), names an untrusted certificate, and does not leave the
password in its environment. Everything stays on this machine: the refused address is a name under
.invalid, the certificate test runs a local TLS server (tests/hostile, a self-signed certificate
made with openssl for this run), and the allowed-when-asked test reaches the local stack through
::ffff:127.0.0.1 (127.0.0.1 written as an IPv6 address, which the policy does not count as
loopback)."""
import json
import os
import subprocess
import time
from types import SimpleNamespace

from wbapp import App, SOURCE_ROOT, wait_for

HOSTILE = os.path.join(SOURCE_ROOT, "tests", "hostile", "hostile_server.py")
CERT_TEXT = "the server's certificate is not trusted"


def inet_sockets(pid):
    """The TCP/UDP sockets (any family) process @pid has open right now."""
    inodes = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open("/proc/%d/net/%s" % (pid, table)) as f:
                next(f)
                inodes.update(line.split()[9] for line in f)
        except OSError:
            pass
    found = []
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                found.append(target)
    except OSError:
        pass
    return found


def fake_stack(url):
    return SimpleNamespace(url=url, anon_key="anon-key-for-tests", email="anyone@example.com",
                           password="correct-horse-battery-staple")


def test_http_to_another_machine_is_refused_and_nothing_is_sent(bus, tmp_path):
    app = App(fake_stack("http://wrenchbell-test.invalid:54321"), bus, str(tmp_path / "app"))
    app.expected_rc = 0
    app.start(wait_subscribed=False)
    sockets = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        sockets += inet_sockets(app.proc.pid)
        time.sleep(0.02)
    st = wait_for(lambda: (lambda s: s if s.get("last_error") else None)(app.status()), 10,
                  "last_error in --status")
    print(json.dumps(st["last_error"]))
    assert ("Refusing to send the password and tokens unencrypted to "
            "http://wrenchbell-test.invalid:54321") in st["last_error"]
    assert "--allow-insecure-http" in st["last_error"]
    assert st["state"] == "signed_out"
    assert st["token_refreshes"] == 0
    assert sockets == [], sockets                     # no connection, not even a DNS lookup
    assert "wrenchbell: Refusing to send the password and tokens unencrypted" in app.output()
    app.stop()


def test_http_elsewhere_only_when_allowed(stack, bus, tmp_path):
    port = stack.url.rsplit(":", 1)[1]
    url = "http://[::ffff:127.0.0.1]:%s" % port
    refused = App(stack, bus, str(tmp_path / "refused"), extra_env={"WRENCHBELL_URL": url})
    refused.start(wait_subscribed=False)
    wait_for(lambda: "Refusing to send" in (refused.status().get("last_error") or ""), 10,
             "the refusal")
    refused.stop()

    # The Preferences switch (Backend → Allow Unencrypted Connections) is bound to the
    # allow-insecure-http key: set it in a settings file, as the switch leaves it.
    config_home = str(tmp_path / "config")
    os.makedirs(os.path.join(config_home, "glib-2.0", "settings"))
    with open(os.path.join(config_home, "glib-2.0", "settings", "keyfile"), "w") as f:
        f.write("[io/github/wrenchbell/Wrenchbell]\nallow-insecure-http=true\n")
    for name, how in (("flag", {"extra_args": ["--allow-insecure-http"]}),
                      ("variable", {"extra_env": {"WRENCHBELL_ALLOW_INSECURE_HTTP": "1"}}),
                      ("setting", {"extra_env": {"GSETTINGS_BACKEND": "keyfile",
                                                 "XDG_CONFIG_HOME": config_home}})):
        env = dict(how.get("extra_env") or {}, WRENCHBELL_URL=url)
        app = App(stack, bus, str(tmp_path / ("allowed-" + name)), extra_env=env,
                  extra_args=how.get("extra_args"))
        try:
            app.start()                               # subscribes
            st = app.status()
            assert st["state"] == "subscribed" and st["last_error"] is None, (name, st)
            req = stack.request("--no-broadcast")[0]
            app.wait_alerts([req["assignment_id"]])
        finally:
            app.stop()                                # the next test's --status must not reach it


def make_certificate(directory):
    key, cert = os.path.join(directory, "key.pem"), os.path.join(directory, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def test_untrusted_certificate_is_named(bus, tmp_path):
    cert, key = make_certificate(str(tmp_path))
    ready = str(tmp_path / "port")
    log = open(str(tmp_path / "server.log"), "w")
    server = subprocess.Popen(["/usr/bin/python3", HOSTILE, "--attack", "none", "--ready-file", ready,
                               "--tls-cert", cert, "--tls-key", key], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(ready), 20, "the TLS server")
        port = open(ready).read().strip()
        app = App(fake_stack("https://127.0.0.1:%s" % port), bus, str(tmp_path / "app"))
        app.start(wait_subscribed=False)
        st = wait_for(lambda: (lambda s: s if CERT_TEXT in (s.get("last_error") or "") else None)(app.status()),
                      20, "the certificate error in --status")
        print(json.dumps(st["last_error"]))
        assert "could not be reached" not in st["last_error"]
        assert "unknown authority" in st["last_error"]
        assert st["state"] != "subscribed"
        assert CERT_TEXT in app.output()
        app.stop()
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    # The handshake failed first: the password never reached the server.
    with open(str(tmp_path / "server.log")) as f:
        assert '"event": "token"' not in f.read()


def test_password_leaves_the_environment(stack, bus, tmp_path):
    app = App(stack, bus, str(tmp_path / "app")).start()    # signed in with WRENCHBELL_PASSWORD
    with open("/proc/%d/environ" % app.proc.pid, "rb") as f:
        environ = f.read()
    assert stack.password.encode() not in environ
    assert b"WRENCHBELL_EMAIL=" + stack.email.encode() in environ   # the rest is still there
    app.stop()
