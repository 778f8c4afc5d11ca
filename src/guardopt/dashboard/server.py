"""The dashboard's HTTP server: the standard library's `http.server.ThreadingHTTPServer`.

Why the standard library and not a framework (Starlette, Flask): the dashboard has ten fixed GET
routes, answers JSON and two static strings, and polls; it needs no templating engine, sessions,
forms or websockets. ``http.server`` adds no dependency (nothing to install or keep in step with an
ASGI server), starts in milliseconds in a test, and a thread per request suits reads that are short
SQL queries; the one costly answer (a GP fit and a random forest, `/api/model`) is cached per study
and recomputed at most every ``model_interval`` seconds. The standard library's documentation warns
that ``http.server`` is not for the open internet: the dashboard binds 127.0.0.1 by default, is
read-only, and is meant for a trusted network (or an SSH tunnel).

Routes (everything else is 404; every method but GET and HEAD is 405):

| route | answer |
|---|---|
| ``/`` | the page (`guardopt.dashboard.assets.INDEX_HTML`; it holds no user data) |
| ``/static/dashboard.js``, ``/static/dashboard.css`` | its script and style |
| ``/favicon.ico`` | 204 (no icon) |
| ``/api/info`` | the storage (password masked) and the refresh period |
| ``/api/studies`` | `guardopt.dashboard.data.studies_payload` |
| ``/api/study?name=N[&known=V]`` | `guardopt.dashboard.data.study_payload` |
| ``/api/model?name=N`` | `guardopt.dashboard.data.model_payload` (cached) |
| ``/api/reports`` | the verdict table of the reports folder's ``index.md`` |
| ``/reports/<name>`` | one report rendered to HTML (raw HTML in it is escaped) |
| ``/reports/figures/<report>/<file>.png`` | a figure of the reports folder |

Safety: the storage is opened read-only (`guardopt.dashboard.source`); JSON is written by
`json.dumps` and the page puts it into ``textContent`` only; every HTML answer escapes its
interpolations with `html.escape`; files are served only from the folder's own listing (no path is
built from a request); every answer carries ``Content-Security-Policy: default-src 'none'`` with
scripts, styles, images and fetches from this origin only, ``X-Content-Type-Options: nosniff``
and ``frame-ancestors 'none'``. When bound to a loopback address, requests whose ``Host`` header is
not a loopback name are refused (a web page in the user's browser cannot reach the dashboard by
DNS rebinding).
"""

from __future__ import annotations

import errno
import html
import ipaddress
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from guardopt.core.errors import GuardoptError, InvalidParameterError, check_choice, check_in_range, check_int
from guardopt.core.storage import Storage
from guardopt.dashboard import assets
from guardopt.dashboard.data import model_payload, studies_payload, study_payload
from guardopt.dashboard.reports import ReportsDir
from guardopt.dashboard.source import ReadOnlyStorage, _ReadOnly, open_read_only

logger = logging.getLogger("guardopt.dashboard")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
_REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
_OWNER = "Dashboard"


class _ModelCache:
    """`model_payload` per study, recomputed when trials changed and at most every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, name: str, version: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        cached = self._done.get(name)
        if cached is not None and (cached[1]["version"] == version or time.monotonic() - cached[0] < self.interval):
            return {**cached[1], "stale": cached[1]["version"] != version}
        if not lock.acquire(blocking=cached is None):
            assert cached is not None  # another request is computing it: answer what we have
            return {**cached[1], "stale": True}
        try:
            cached = self._done.get(name)
            if cached is not None and cached[1]["version"] == version:
                return {**cached[1], "stale": False}
            result = compute()
            self._done[name] = (time.monotonic(), result)
            return {**result, "stale": result["version"] != version}
        finally:
            lock.release()


class Dashboard:
    """A read-only dashboard of one storage (and optionally a reports folder), served over HTTP.

    Args:
        storage: A storage URL (``"sqlite:///studies.db"``, ``"postgresql+psycopg://user@host/db"``),
            opened read-only, or a `Storage` instance (wrapped in `ReadOnlyStorage`, so that the
            dashboard refuses every write; pass `open_read_only(url)` to have the database refuse too).
        reports: A folder written by ``guardopt report`` (its ``index.md`` gives the verdict
            table), or None.
        host: The address to bind (default ``"127.0.0.1"``: this machine only).
        port: The port (0: a free one, see `url`).
        refresh: Seconds between the page's polls.
        model_interval: Minimum seconds between two recomputations of a study's importance and
            recommendation while it runs.
        importance: The importance method, ``"auto"``, ``"fanova"`` or ``"permutation"``.

    Example:
        >>> with Dashboard("sqlite:///studies.db") as d:  # doctest: +SKIP
        ...     print(d.url)
    """

    def __init__(self, storage: Storage | str, reports: str | Path | None = None, host: str = "127.0.0.1",
                 port: int = 8765, refresh: float = 2.0, model_interval: float = 10.0,
                 importance: str = "auto") -> None:
        check_int(port, "port", _OWNER, low=0, high=65535)
        check_in_range(refresh, "refresh", _OWNER, 0.2, 3600.0, low_open=False)
        check_in_range(model_interval, "model_interval", _OWNER, 0.0, 86400.0, low_open=False)
        check_choice(importance, "importance", _OWNER, ("auto", "fanova", "permutation"))
        _check_host(host)
        if isinstance(storage, Storage):
            # A storage handed over as an instance is wrapped, so no write can pass through the dashboard.
            self.storage: Storage = storage if isinstance(storage, _ReadOnly) else ReadOnlyStorage(storage)
        else:
            self.storage = open_read_only(storage)
        self.reports = ReportsDir(reports)
        self.refresh = float(refresh)
        self.importance = importance
        self._models = _ModelCache(float(model_interval))
        self._loopback = _is_loopback(host)
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler_class())
        except (TypeError, ValueError, UnicodeError) as exc:  # a name the socket layer cannot encode
            raise InvalidParameterError("host", _OWNER, "an address such as '127.0.0.1'", host) from exc
        except OSError as exc:
            # An address that does not resolve or is not this machine's is the host's fault; a port in
            # use (or privileged) is the port's.
            if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                raise InvalidParameterError("host", _OWNER, f"an address of this machine ({exc.strerror})",
                                            host) from exc
            raise InvalidParameterError("port", _OWNER, f"a free port on {host} ({exc.strerror})", port) from exc
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port/`` of the running server."""
        address = self._server.server_address
        host, port = str(address[0]), int(address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (Ctrl-C) or `close`."""
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> Dashboard:
        """Serve from a background thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever, name="guardopt-dashboard", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answers ---------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {"storage": repr(self.storage), "refresh_ms": int(self.refresh * 1000),
                "reports": "" if self.reports.root is None else str(self.reports.root)}

    def model(self, name: str) -> dict[str, Any]:
        from guardopt.dashboard.data import version_of

        version = version_of(self.storage.trials(name))
        return self._models.get(name, version, lambda: model_payload(self.storage, name, self.importance))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        dashboard = self

        class Handler(_Handler):
            app = dashboard

        return Handler


def _check_host(host: object) -> None:
    """Refuse a host the socket layer cannot even encode (it raised ``TypeError`` from ``bind``)."""
    expected = "an address such as '127.0.0.1' (an ASCII or IDNA-encodable name, no NUL)"
    if not isinstance(host, str) or not host or "\x00" in host:
        raise InvalidParameterError("host", _OWNER, expected, host)
    if not host.isascii():  # the socket module encodes a non-ASCII name with the IDNA codec
        try:
            host.encode("idna")
        except UnicodeError as exc:
            raise InvalidParameterError("host", _OWNER, expected, host) from exc


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class _Handler(BaseHTTPRequestHandler):
    app: Dashboard
    server_version = "guardopt-dashboard"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # -- plumbing --------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        # <, > and & as \u escapes: the same JSON, and inert even if something rendered it as HTML.
        text = json.dumps(data, allow_nan=False, ensure_ascii=True)
        body = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode("ascii")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: HTTPStatus, message: str) -> None:
        if self.path.startswith("/api/"):
            self._json({"error": message}, status)
        else:
            page = assets.REPORT_HTML.format(title=html.escape(f"{int(status)} {status.phrase}"),
                                             body=f"<h2>{html.escape(status.phrase)}</h2><p>{html.escape(message)}</p>")
            self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _refuse_method(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "The dashboard is read-only: GET and HEAD only.")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self.app._loopback and _host_name(self.headers.get("Host", "")) not in _LOOPBACK_NAMES:
            self._error(HTTPStatus.FORBIDDEN, "This dashboard answers requests addressed to localhost only.")
            return
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError):  # the browser went away mid-answer
            pass
        except GuardoptError as exc:
            logger.info("dashboard: %s", exc)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc))
        except Exception as exc:  # a bug must not kill the server's thread silently; say it
            logger.exception("dashboard: request %s failed", self.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(exc).__name__}: {exc}")

    def _name(self, query: dict[str, list[str]]) -> str | None:
        names = query.get("name", [])
        if len(names) != 1:
            self._error(HTTPStatus.BAD_REQUEST, "Give exactly one study: ?name=...")
            return None
        if names[0] not in self.app.storage.study_names():
            self._error(HTTPStatus.NOT_FOUND, "No such study in this storage.")
            return None
        return names[0]

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        app = self.app
        if path in ("/", "/index.html"):
            self._send(200, assets.INDEX_HTML.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/static/dashboard.js":
            self._send(200, assets.JS.encode("utf-8"), "text/javascript; charset=utf-8", "max-age=60")
        elif path == "/static/dashboard.css":
            self._send(200, assets.CSS.encode("utf-8"), "text/css; charset=utf-8", "max-age=60")
        elif path == "/favicon.ico":  # browsers ask for it: no icon, and no error in their console
            self._send(204, b"", "image/x-icon", "max-age=3600")
        elif path == "/api/info":
            self._json(app.info())
        elif path == "/api/studies":
            self._json(studies_payload(app.storage))
        elif path in ("/api/study", "/api/model"):
            name = self._name(query)
            if name is not None:
                known = query["known"][0] if query.get("known") else None
                self._json(study_payload(app.storage, name, known=known) if path == "/api/study" else app.model(name))
        elif path == "/api/reports":
            self._json(app.reports.verdicts().as_json())
        elif path.startswith("/reports/figures/"):
            self._figure(unquote(path[len("/reports/"):]))
        elif path.startswith("/reports/"):
            self._report(unquote(path[len("/reports/"):]))
        else:
            self._error(HTTPStatus.NOT_FOUND, "No such page.")

    def _report(self, name: str) -> None:
        name = name[:-3] if name.endswith(".md") else name
        rendered = self.app.reports.render(name) if _REPORT_NAME.match(name) else None
        if rendered is None:
            self._error(HTTPStatus.NOT_FOUND, "No such report.")
            return
        title, body = rendered
        page = assets.REPORT_HTML.format(title=html.escape(title), body=body)
        self._send(200, page.encode("utf-8"), "text/html; charset=utf-8")

    def _figure(self, key: str) -> None:
        path = self.app.reports.figures().get(key)
        if path is None:
            self._error(HTTPStatus.NOT_FOUND, "No such figure.")
            return
        self._send(200, path.read_bytes(), "image/png", "max-age=60")


def serve(storage: Storage | str, reports: str | Path | None = None, host: str = "127.0.0.1", port: int = 8765,
          refresh: float = 2.0, model_interval: float = 10.0, importance: str = "auto") -> None:
    """Serve the dashboard until interrupted (see `Dashboard` for the arguments)."""
    dashboard = Dashboard(storage, reports, host, port, refresh=refresh, model_interval=model_interval,
                          importance=importance)
    try:
        dashboard.serve_forever()
    finally:
        dashboard.close()
