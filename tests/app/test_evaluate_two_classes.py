"""Evaluate with a factory's two-class colour set whose rare class is tiny: the form offers only the arms it can run."""

from __future__ import annotations

import numpy as np

from tests.app.conftest import app_test, button


def test_the_form_leaves_smote_out_for_a_class_of_one_training_image(users, home, tmp_path):
    # 'crack' has 2 images, 1 held out for test: SMOTE, chosen by default, failed once the arms before it had trained.
    from ganaug.datasets import ingest_dataset
    from ganaug_core.datasets import IngestOptions

    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("ok", "crack"):
        (tmp_path / "parts" / name).mkdir(parents=True)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "parts" / "ok" / f"{i}.png")
    for i in range(2):
        Image.fromarray(rng.integers(0, 60, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "parts" / "crack" / f"{i}.png")
    ingest_dataset(str(tmp_path / "parts"), "parts", IngestOptions(resolution=8))
    at = app_test(users["rita"])
    at.session_state["eval_dataset"] = "parts"  # chosen before the arms' default is drawn ('digits' is first)
    at.switch_page("pages/evaluate.py").run()
    assert at.multiselect(key="eval_arms").value == ["real", "oversample", "classic"]
    at.multiselect(key="eval_arms").set_value(["real", "smote"]).run()
    assert [e.value for e in at.error] == [
        "Arm “SMOTE” cannot run: SMOTE interpolates between two training images of one class, and class crack has "
        "only one."]
    assert button(at, "Run the benchmark").disabled
    assert not [c for c in at.caption if c.value.startswith("This benchmark trains")]  # a benchmark that cannot run
    # Another dataset starts from its own runnable arms: SMOTE, chosen for 'parts' where it cannot run, stayed
    # selected for 'digits' (and the other way round), flagged, with Run disabled.
    at.selectbox(key="eval_dataset").set_value("digits").run()
    assert at.multiselect(key="eval_arms").value == ["real", "oversample", "smote", "classic"]  # no run, no approval
    assert not at.error and not button(at, "Run the benchmark").disabled
    at.selectbox(key="eval_dataset").set_value("parts").run()
    assert at.multiselect(key="eval_arms").value == ["real", "oversample", "classic"]
    assert not at.error and not button(at, "Run the benchmark").disabled
    # Said before it is launched, as `ganaug benchmark` says it when it starts.
    assert ("This benchmark trains 6 classifiers of 150 steps at 8² (3 arms, 2 seeds): under a minute on a quiet "
            "2-core machine (other jobs on its cores have made a benchmark 10× slower).") in [c.value for c in at.caption]
