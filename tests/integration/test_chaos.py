"""Short chaos soak for `meson test` (suite integration): a fixed seed, then a random one
(printed; replay with `tests/integration/chaos.py --seed N`). Asserts exactly-once accounting only,
never wall-clock times (those are printed). The long soak is tests/bench/chaos-soak."""
import os
import random

import pytest

from chaos import run_soak

FIXED_SEED = 20261122
REQUESTS = int(os.environ.get("WB_CHAOS_REQUESTS", "70"))
DURATION = float(os.environ.get("WB_CHAOS_DURATION", "60"))


def random_seed():
    env = os.environ.get("WB_CHAOS_SEED")
    return int(env) if env else random.SystemRandom().randrange(1, 2 ** 31)


@pytest.mark.parametrize("seed", [FIXED_SEED, random_seed()], ids=["fixed-seed", "random-seed"])
def test_chaos_soak_every_episode_rings_exactly_once(stack, bus, tmp_path, seed):
    rep = run_soak(stack, bus, str(tmp_path / "soak"), seed=seed, requests=REQUESTS, duration=DURATION)
    assert not rep.missed, "missed episodes (seed %d): %s" % (seed, rep.missed[:10])
    assert not rep.duplicated, "duplicated alerts (seed %d): %s" % (seed, rep.duplicated[:10])
    assert not rep.db_mismatch, "driver and database disagree (seed %d): %s" % (seed, rep.db_mismatch[:10])
    assert not rep.fallbacks_unresolved, \
        "fallback alerts never updated to full details (seed %d): %s" % (seed, rep.fallbacks_unresolved[:10])
    assert not rep.forged_alerts, "forged broadcasts rang (seed %d): %s" % (seed, rep.forged_alerts[:10])
    assert rep.faults["forged"] >= 1 and rep.forged_sent >= 5, (rep.faults, rep.forged_sent)
    assert rep.faults["app-kill"] == 1
