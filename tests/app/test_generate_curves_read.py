"""A team's lead who had never met a GAN watched a run's curves on the Generate page: "D loss", "G loss" and
"Augmentation probability p", with nothing saying what they are or what to look for."""

from __future__ import annotations

from tests.app.conftest import app_test
from tests.app.test_generate_curves import a_job, a_run


def test_the_curves_say_what_d_g_and_p_are_and_what_to_look_for(users, digits, home):
    run_id = a_run(home, digits, "done", 500)
    a_job(users, digits, run_id, finished=True)
    at = app_test(users["rita"], "generate.py")
    assert not at.exception
    said = [c.value for c in at.caption if c.value.startswith("How to read these:")]
    assert len(said) == 1
    assert "G, the generator, makes the samples; D, the discriminator" in said[0]
    assert "D's loss sinking towards 0 and staying there" in said[0] and "p is how often" in said[0]
