"""HTTP for the poller (httpx): conditional GET, redirects followed by hand (to see permanent moves and
loops), a size limit on every body and one total deadline per request (connect to last byte, started once
the request has its per-host slot), the egress policy at connect time (egress.py), the per-host gate, a
User-Agent that names newsfeed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from .egress import Cancelled, EgressPolicy, EgressRefused, RequestClock
from .httpx_pool_patch import guarded_transport
from .politeness import HostGate, parse_retry_after
from .urls import host_of, same_site

PERMANENT = {301, 308}
REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """A request that gave no usable body. `kind`: timeout, connection, too_large, redirect_loop, gone (404/410),
    rate_limited (429/503), http_error, refused (the egress policy), cancelled (shutting down); `transient`
    says whether the same request may work later."""

    def __init__(self, kind: str, message: str, *, status: int | None = None, retry_after: float | None = None,
                 transient: bool = False):
        super().__init__(message)
        self.kind, self.status, self.retry_after, self.transient = kind, status, retry_after, transient


@dataclass
class Fetched:
    status: int                      # 200, or 304 (not modified: no body)
    url: str                         # where the body came from, after redirects
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    moved_to: str | None = None      # set when every redirect hop was permanent (301/308) and stayed on the site
    moved_offsite: str | None = None  # a permanent move to another site: followed, never stored


class Fetcher:
    def __init__(self, user_agent: str, timeout: float, max_redirects: int, gate: HostGate,
                 policy: EgressPolicy | None = None):
        self.timeout, self.max_redirects, self.gate = timeout, max_redirects, gate
        self.clock = RequestClock()
        self.client = httpx.Client(headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
                                   timeout=httpx.Timeout(timeout), follow_redirects=False,
                                   transport=guarded_transport(policy or EgressPolicy(), self.clock))

    def cancel(self) -> None:
        """Abandon every request in flight and refuse new ones (a shutdown)."""
        self.clock.cancelled.set()

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, max_bytes: int, etag: str | None = None, last_modified: str | None = None,
            accept: str = "*/*") -> Fetched:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        visited, all_permanent = [url], True
        current = url
        for _ in range(self.max_redirects + 1):
            status, resp_headers, body = self._one(current, headers, max_bytes)
            if status in REDIRECTS and resp_headers.get("location"):
                target = urljoin(current, resp_headers["location"])
                all_permanent = all_permanent and status in PERMANENT
                if target in visited:
                    raise FetchError("redirect_loop", f"redirect loop: {' -> '.join(visited + [target])}", status=status)
                visited.append(target)
                current = target
                continue
            moved = current if all_permanent and current != url else None
            offsite = moved if moved and not same_site(url, moved) else None
            moved = None if offsite else moved   # a feed never moves itself to another site for good
            if status == 304:
                return Fetched(304, current, b"", resp_headers, moved, offsite)
            if status == 200:
                return Fetched(200, current, body, resp_headers, moved, offsite)
            raise self._status_error(status, current, resp_headers)
        raise FetchError("redirect_loop", f"more than {self.max_redirects} redirects: {' -> '.join(visited)}")

    def get_plain(self, url: str, max_bytes: int = 512 * 1024) -> tuple[int, bytes]:
        """(status, body) following redirects, errors as OSError: for robots.txt. A refused or cancelled
        request stays a FetchError: it is the feed's (or page's) outcome, not the robots.txt's."""
        try:
            fetched = self.get(url, max_bytes)
            return fetched.status, fetched.body
        except FetchError as exc:
            if exc.kind in ("refused", "cancelled"):
                raise
            if exc.status:
                return exc.status, b""
            raise OSError(str(exc)) from None

    def _one(self, url: str, headers: dict[str, str], max_bytes: int) -> tuple[int, dict[str, str], bytes]:
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise FetchError("refused", f"{url}: only http and https are fetched")
        with self.gate.slot(host_of(url)):
            if self.clock.cancelled.is_set():
                raise FetchError("cancelled", f"{url}: not fetched, shutting down", transient=True)
            deadline = self.clock.start(self.timeout)   # from now, not from when the request queued for its slot
            try:
                with self.client.stream("GET", url, headers=headers) as resp:
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError("too_large", f"{url}: Content-Length {declared} > limit {max_bytes} bytes",
                                         status=resp.status_code)
                    chunks, size = [], 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchError("too_large", f"{url}: body over the limit of {max_bytes} bytes",
                                             status=resp.status_code)
                        if time.monotonic() > deadline:  # the backend stops reads too; this catches buffered data
                            raise FetchError("timeout", f"{url}: response not complete after {self.timeout:g}s",
                                             transient=True)
                        chunks.append(chunk)
                    return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, b"".join(chunks)
            except httpx.TimeoutException as exc:
                raise FetchError("timeout", f"{url}: no complete response within {self.timeout:g}s ({type(exc).__name__})",
                                 transient=True) from None
            except httpx.DecodingError as exc:
                raise FetchError("http_error", f"{url}: undecodable body: {exc}") from None
            except (httpx.TransportError, httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise FetchError("connection", f"{url}: {type(exc).__name__}: {exc}", transient=True) from None
            except EgressRefused as exc:
                raise FetchError("refused", str(exc)) from None
            except Cancelled:
                raise FetchError("cancelled", f"{url}: abandoned, shutting down", transient=True) from None
            finally:
                self.clock.stop()

    @staticmethod
    def _status_error(status: int, url: str, headers: dict[str, str]) -> FetchError:
        if status in (404, 410):
            return FetchError("gone", f"{url}: HTTP {status}", status=status)
        if status in (429, 503):
            wait = parse_retry_after(headers.get("retry-after"))
            return FetchError("rate_limited", f"{url}: HTTP {status}, Retry-After {headers.get('retry-after')!r}",
                              status=status, retry_after=wait, transient=True)
        return FetchError("http_error", f"{url}: HTTP {status}", status=status, transient=status >= 500)
