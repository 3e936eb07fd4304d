"""Asking the service's HTTP endpoints as a probe or a scraper does."""

from __future__ import annotations

import urllib.error
import urllib.request


def get(port: int, path: str, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body) of a GET on 127.0.0.1; (0, "") when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""
