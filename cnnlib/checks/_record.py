"""The machine-readable record that every check leaves behind for the grader.

A check shows its verdict as one ``display_data`` output with two representations:
``text/plain`` (what the student reads) and :data:`MIME` (a JSON record the grading
command collects). Notebook front ends show the plain text; nbval, in lax mode, compares
neither.

Records are signed with HMAC-SHA256 under a key that the grading command creates afresh
for every run and hands to the kernel in the environment variable :data:`KEY_ENV`. The
key is removed from the environment when this module is imported, so a notebook cannot
simply print it, and outputs copied from another run or typed by hand do not verify.
(Code running in the same kernel could still dig the key out of this module; the
signature stops casual forgery, not a determined attacker.)
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from typing import Any

__all__ = ["MIME", "KEY_ENV", "TEXT_PREFIX", "sign", "verify", "emit"]

MIME = "application/vnd.cnnlib.check+json"
KEY_ENV = "CNNLIB_GRADE_KEY"
#: Outside IPython (a plain script) a signed record is printed on a line starting so.
TEXT_PREFIX = "cnnlib-check-record: "

_KEY = os.environ.pop(KEY_ENV, None)


def _key() -> str | None:
    return os.environ.get(KEY_ENV) or _KEY


def _canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode()


def sign(record: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """Return ``record`` with its ``sig`` field set (``None`` when no key is known)."""
    key = key if key is not None else _key()
    sig = (hmac.new(key.encode(), _canonical(record), hashlib.sha256).hexdigest()
           if key else None)
    return {**record, "sig": sig}


def verify(record: Any, key: str) -> bool:
    """True if ``record`` is a dict whose ``sig`` is valid under ``key``."""
    if not isinstance(record, dict) or not isinstance(record.get("sig"), str):
        return False
    try:
        good = hmac.new(key.encode(), _canonical(record), hashlib.sha256).hexdigest()
    except (TypeError, ValueError):  # a forged record that is not JSON-serialisable
        return False
    return hmac.compare_digest(good, record["sig"])


def _ipython():
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return None
    try:
        from IPython import get_ipython
        return get_ipython()
    except Exception:
        return None


def emit(text: str, record: dict[str, Any]) -> None:
    """Show ``text`` to the student and leave ``record`` (signed here) for the grader."""
    record = sign(record)
    if _ipython() is not None:
        try:
            from IPython.display import display
            display({"text/plain": text, MIME: record}, raw=True)
            return
        except Exception:
            pass  # fall back to printing
    print(text, flush=True)
    if record["sig"]:
        print(TEXT_PREFIX + json.dumps(record, ensure_ascii=True), flush=True)
