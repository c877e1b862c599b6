"""Checking a password takes scrypt's 32 MiB, and hashlib.scrypt lets go of the GIL: sign-ins checked at once in the
app's threads each held their own, so sessions opened by the hundred (no account needed) could exhaust memory."""

from __future__ import annotations

import threading

import db.users as users


def test_no_more_than_a_few_passwords_are_checked_at_once(monkeypatch):
    inside, peak, lock = 0, 0, threading.Lock()
    # Reached by SCRYPT_AT_ONCE + 1 checks only if that many run at once; else it breaks after its timeout.
    together = threading.Barrier(users.SCRYPT_AT_ONCE + 1, timeout=1)

    def scrypt(*args, **kwargs):
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        try:
            together.wait()
        except threading.BrokenBarrierError:
            pass
        with lock:
            inside -= 1
        return b"\0" * 32

    stored = users.hash_password("a password")
    monkeypatch.setattr(users.hashlib, "scrypt", scrypt)
    threads = [threading.Thread(target=users.verify_password, args=(stored, "a guess")) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= peak <= users.SCRYPT_AT_ONCE


def test_a_stored_hash_whose_digest_is_damaged_is_a_wrong_password_not_a_traceback():
    stored = users.hash_password("a password")
    assert users.verify_password(stored, "a password")
    # The digest was parsed outside the check's try: a damaged one raised ValueError through `authenticate`.
    assert users.verify_password(stored[:-2] + "zz", "a password") is False
