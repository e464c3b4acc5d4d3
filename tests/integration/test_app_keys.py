"""The API key at start: a secret or service_role key never runs on a workstation, whichever way it
was given (flag, environment, settings), and the message says what to use instead without
repeating the key. Needs no stack: the app refuses before it connects anywhere."""
import os
import subprocess

import pytest

from wbapp import BUILD_ROOT, KEY_VARIABLES, WRENCHBELL

SECRET = "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz"
SERVICE_ROLE = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZp"
                "Y2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU")


def env_for(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    env.update({"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state"),
                # nothing listens here; the refusal comes before any connection anyway
                "WRENCHBELL_URL": "http://127.0.0.1:9", "WB_AUDIO_SINK": "fakesink",
                "GSETTINGS_BACKEND": "memory"})
    env.update(extra)
    return env


def run_headless(env, *args):
    return subprocess.run([WRENCHBELL, "--headless", "--quiet"] + list(args), env=env,
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("how", ["--anon-key", "--publishable-key", "WRENCHBELL_ANON_KEY",
                                 "WRENCHBELL_PUBLISHABLE_KEY"])
@pytest.mark.parametrize("key,says", [(SECRET, "secret API key"), (SERVICE_ROLE, "service_role key")],
                         ids=["secret", "service-role"])
def test_refused_at_start(tmp_path, how, key, says):
    if how.startswith("--"):
        r = run_headless(env_for(tmp_path), how + "=" + key)
    else:
        r = run_headless(env_for(tmp_path, **{how: key}))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert says in r.stderr and "publishable key (sb_publishable_" in r.stderr, r.stderr
    assert key not in r.stderr + r.stdout


def test_refused_key_in_settings_is_removed(tmp_path):
    """A secret key kept in the settings (dconf written before this version, or by hand) is refused
    and taken out of them: it must not stay on the disk either."""
    env = env_for(tmp_path, GSETTINGS_BACKEND="keyfile",
                  GSETTINGS_SCHEMA_DIR=os.path.join(BUILD_ROOT, "data"))
    schema = "io.github.wrenchbell.Wrenchbell"
    subprocess.run(["gsettings", "set", schema, "anon-key", SECRET], env=env, check=True)
    r = run_headless(env)
    assert r.returncode == 2 and "secret API key" in r.stderr, r.stderr
    assert "removed from the settings" in r.stderr
    left = subprocess.run(["gsettings", "get", schema, "anon-key"], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert left == "''", left
    with open(tmp_path / "config" / "glib-2.0" / "settings" / "keyfile") as f:
        assert SECRET not in f.read()


def test_bad_protocol_version_refused(tmp_path):
    r = run_headless(env_for(tmp_path, WRENCHBELL_REALTIME_VSN="3.0.0"))
    assert r.returncode == 2 and "WRENCHBELL_REALTIME_VSN must be 2.0.0 or 1.0.0" in r.stderr, r.stderr


def test_unsendable_key_refused(tmp_path):
    r = run_headless(env_for(tmp_path), "--anon-key=sb_publishable_abc def")
    assert r.returncode == 2 and "spaces or control characters" in r.stderr, r.stderr
