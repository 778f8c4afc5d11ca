"""Helpers of the dashboard tests: the test space, a hostile name, trial writing and raw HTTP requests."""

from __future__ import annotations

import http.client
import json
from typing import Any

import guardopt as go
from guardopt.dashboard import Dashboard

SPACE = go.Space({"x": go.Real(-5.0, 5.0), "k": go.Choice(["a", "b"])})
EVIL = "<script>alert(1)</script>"


def write_trials(study: go.Study, xs: list[float], k: str = "a") -> None:
    """Tell one trial per x: value (x - 1)^2, constraint c = x (limit c <= 1)."""
    for x in xs:
        study.enqueue({"x": x, "k": k})
        t = study.ask()
        study.tell(t, {"value": (t.params["x"] - 1.0) ** 2, "c": t.params["x"]})


def request(dash: Dashboard, path: str, method: str = "GET", host: str | None = None) -> tuple[int, Any, bytes]:
    """``(status, headers, body)`` of one raw request (the path is sent exactly as given)."""
    address = dash._server.server_address
    conn = http.client.HTTPConnection(str(address[0]), int(address[1]), timeout=30)
    try:
        conn.putrequest(method, path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


def get_json(dash: Dashboard, path: str) -> Any:
    status, headers, body = request(dash, path)
    assert status == 200, body
    assert headers["Content-Type"].startswith("application/json")

    def refuse(name: str) -> None:
        raise AssertionError(f"non-JSON constant {name} in {path}")

    return json.loads(body, parse_constant=refuse)
