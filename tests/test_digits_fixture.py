"""The `digits` fixture (tests/conftest.py) links the session template's images into each home instead of copying
them: a test that writes one in place must not leave it written for the tests after it."""

from __future__ import annotations

from tests.conftest import _restore_written_in_place


def test_a_real_image_written_in_place_is_whole_again_in_the_template_and_the_home_keeps_its_bytes(
        digits, home, digits_template):
    png = next((home / "datasets" / digits).rglob("*.png"))
    rel = png.relative_to(home)
    whole = (digits_template / rel).read_bytes()
    assert png.stat().st_ino == (digits_template / rel).stat().st_ino  # a link: the template sees what is written
    with open(png, "r+b") as f:  # in place, as a tampering test writes (write_bytes truncates the same file)
        f.write(b"tampered")
    assert (digits_template / rel).read_bytes() != whole
    _restore_written_in_place(digits_template)  # what the fixture does after each test
    assert (digits_template / rel).read_bytes() == whole
    assert png.read_bytes().startswith(b"tampered")  # this home keeps what it wrote


def test_the_database_is_a_copy_of_the_templates_not_a_link(digits, home, digits_template):
    assert (home / "ganaug.db").stat().st_ino != (digits_template / "ganaug.db").stat().st_ino
