"""After a first run, the Generate page's "Start from run" read "Choose an option" in the browser, as if nothing were
chosen: Streamlit draws a selectbox whose value is None (here, "no, train a new generator") as its placeholder."""

from __future__ import annotations

from tests.app.conftest import app_test, make_batch


def test_start_from_run_reads_train_a_new_generator_when_none_is_chosen(users, digits, home):
    make_batch(digits, 9, 1)  # run 1 (runs/test), which the picker offers once it has a checkpoint
    (home / "runs" / "test" / "checkpoints").mkdir(parents=True)
    (home / "runs" / "test" / "checkpoints" / "last.pt").write_bytes(b"\0" * 100)
    picker = app_test(users["rita"], "generate.py").selectbox(key="gen_resume")
    assert picker.value is None and len(picker.options) == 2
    assert picker.proto.placeholder == picker.options[0] == "no, train a new generator"
