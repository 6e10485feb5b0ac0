"""duopod.http: the bounds both HTTP clients (speech and chat) keep, tested once here; the
clients' own tests (test_openai, test_hostile_openai, test_draft) drive them end to end."""

from __future__ import annotations

import base64

from duopod.http import error_message, origin, redact, url_secrets


def test_redaction_blanks_keys_headers_and_url_credentials() -> None:
    url = "http://pod:hunter2%21secret@127.0.0.1:8080/v1"
    secrets = ["sk-live-0123456789", *url_secrets(url)]
    basic = base64.b64encode(b"pod:hunter2!secret").decode()
    said = (f"bad key sk-live-0123456789, header Basic {basic}, password hunter2!secret, "
            "Bearer abc.def-ghi, key-abcdef123, none")
    clean = redact(said, secrets)
    assert "0123456789" not in clean and basic not in clean and "hunter2" not in clean
    assert "abc.def" not in clean and "abcdef123" not in clean
    assert clean.endswith("none")  # a placeholder "key" is not a secret
    assert url_secrets("http://127.0.0.1:8080/v1") == []


def test_origins_and_server_messages() -> None:
    assert origin("http://Host:80/a") == origin("http://host/b") != origin("https://host/b")
    assert error_message('{"error": {"message": "bad\\n  key"}}') == "bad key"
    assert error_message('{"detail": "no such voice"}') == "no such voice"
    assert error_message("x" * 500) == "x" * 200
