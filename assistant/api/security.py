"""Who may call the API and how often: API keys, origin checks and per-key / per-IP token buckets.

- No keys configured (the ``make run`` default): every caller is anonymous.
- Once any key is configured, a request without a valid key gets 401. Keys travel as
  ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.
- Widget keys are public (they sit in portal pages), so they only count from an allowed origin.
  Kiosk keys identify one device; admin keys are unlimited and may read ``/metrics``.
- Staff keys carry a role for the operator console and ``/v1/admin``: ``admin`` (everything) ⊇
  ``editor`` (documents, curated answers) and ``reviewer`` (conversations, insights, read-only
  knowledge). ``require_role`` is the one check; a key without the role gets 403, no key 401.
  Without any keys configured (loopback development) the anonymous caller may do everything.
- A request whose ``Origin`` is not in ``allowed_origins`` gets 403. The ``Host`` header is never
  trusted to vouch for an origin: pages served by this server need their origin in the list too.
  CORS headers themselves come from Starlette's ``CORSMiddleware`` (``cors.py``); this is the check.
- The client address for per-IP limits is the socket peer; ``X-Forwarded-For`` only counts when
  it comes from one of ``trusted_proxies`` (``app.py`` installs uvicorn's proxy-headers middleware).
- Token buckets refill continuously at ``rate_limit_per_minute``; an empty bucket gives 429 with
  ``Retry-After``. Widget keys are shared by every visitor of a portal, so their key bucket is
  ``WIDGET_KEY_FACTOR`` times larger; per-IP buckets still hold back any single visitor.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from ..config import APISettings
from .errors import APIError

WIDGET_KEY_FACTOR = 20
PrincipalKind = Literal["anonymous", "widget", "kiosk", "admin", "editor", "reviewer"]
Role = Literal["admin", "editor", "reviewer"]
STAFF_ROLES: tuple[Role, ...] = ("admin", "editor", "reviewer")


@dataclass(frozen=True)
class Principal:
    """The caller as far as the API is concerned; ``key_id`` is a short hash, never the key itself."""

    kind: PrincipalKind
    key_id: str = ""

    @property
    def role(self) -> Role | None:
        """The console role of a staff key (``admin`` also for anonymous access without keys)."""
        if self.kind == "anonymous":
            return "admin"
        return self.kind if self.kind in STAFF_ROLES else None  # type: ignore[return-value]

    @property
    def actor(self) -> str:
        """Who did it, for the audit log: ``<role>:<key id>`` (never the key), or ``anonymous``."""
        return f"{self.kind}:{self.key_id}" if self.key_id else self.kind

    def has_role(self, *roles: Role) -> bool:
        """True when the principal is an admin or holds one of ``roles``."""
        role = self.role
        return role is not None and (role == "admin" or role in roles)


def key_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:12]


class KeyRing:
    """The configured API keys by kind."""

    def __init__(self, api: APISettings) -> None:
        self._kinds: dict[str, PrincipalKind] = {}
        groups = (
            ("widget", api.widget_keys),
            ("kiosk", api.kiosk_keys),
            ("reviewer", api.reviewer_keys),
            ("editor", api.editor_keys),
            ("admin", api.admin_keys),  # last: a key listed twice keeps its widest role
        )
        for kind, keys in groups:
            for k in keys:
                if k:
                    self._kinds[k] = kind  # type: ignore[assignment]

    @property
    def configured(self) -> bool:
        return bool(self._kinds)

    def identify(self, key: str | None) -> Principal | None:
        """The principal for ``key``; anonymous when no keys are configured; None for a missing/unknown key."""
        if not self._kinds:
            return Principal("anonymous")
        kind = self._kinds.get(key or "")
        return Principal(kind, key_id(key or "")) if kind else None


class RateLimiter:
    """Token buckets keyed by string; ``per_minute <= 0`` disables limiting."""

    def __init__(self, per_minute: int, max_buckets: int = 50_000) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()
        self._max = max_buckets

    def take(self, key: str, factor: float = 1.0) -> float:
        """Spend one token from ``key``'s bucket; 0.0 when allowed, else seconds until one is available."""
        if self.per_minute <= 0:
            return 0.0
        capacity, rate = self.per_minute * factor, self._rate * factor
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self._max:
                self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        # Buckets idle for a full minute are full again: forgetting them changes nothing.
        stale = [k for k, (_, last) in self._buckets.items() if now - last > 60.0]
        for k in stale:
            del self._buckets[k]


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    """An origin is allowed only when allow-listed (``*`` allows all)."""
    return origin in allowed or "*" in allowed


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


class Guard:
    """The dependency every ``/v1`` route runs: origin check, key check, rate limits. Returns the Principal."""

    def __init__(self, api: APISettings, on_limited: Callable[[str], None] | None = None) -> None:
        self.api = api
        self.keys = KeyRing(api)
        self.limiter = RateLimiter(api.rate_limit_per_minute)
        self._on_limited = on_limited

    def check_origin(self, request: Request) -> str | None:
        origin = request.headers.get("origin")
        if origin is None:
            return None
        if not origin_allowed(origin, self.api.allowed_origins):
            raise APIError(403, "origin_not_allowed", f"origin {origin!r} is not allowed")
        return origin

    def authenticate(self, request: Request, origin: str | None) -> Principal:
        key = presented_key(request)
        principal = self.keys.identify(key)
        if principal is None:
            message = "missing API key" if not key else "invalid API key"
            raise APIError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
        if principal.kind == "widget" and origin is None:
            raise APIError(403, "origin_required", "widget keys are only valid from an allowed origin")
        return principal

    def limit(self, request: Request, principal: Principal) -> None:
        if principal.kind in STAFF_ROLES:
            return  # operators' consoles make many small requests; their keys are secrets
        wait = self.limiter.take("ip:" + client_ip(request))
        scope = "ip"
        if not wait and principal.key_id:
            factor = WIDGET_KEY_FACTOR if principal.kind == "widget" else 1.0
            wait = self.limiter.take("key:" + principal.key_id, factor)
            scope = "key"
        if wait:
            if self._on_limited is not None:
                self._on_limited(scope)
            raise APIError(
                429,
                "rate_limited",
                f"too many requests; retry in {math.ceil(wait)} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    async def __call__(self, request: Request) -> Principal:
        origin = self.check_origin(request)
        principal = self.authenticate(request, origin)
        self.limit(request, principal)
        return principal

    def require_admin(self, request: Request) -> Principal:
        """For operator endpoints (``/metrics``): admin key when keys are configured, else anonymous."""
        principal = self.keys.identify(presented_key(request))
        if principal is None or (self.keys.configured and principal.kind != "admin"):
            raise APIError(
                401, "unauthorized", "an admin key is required", headers={"WWW-Authenticate": "Bearer"}
            )
        return principal

    def require_role(self, request: Request, *roles: Role) -> Principal:
        """The principal when it holds one of ``roles`` (admin holds all); 401 without a key, else 403."""
        self.check_origin(request)
        principal = self.keys.identify(presented_key(request))
        if principal is None:
            raise APIError(
                401, "unauthorized", "a staff key is required", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.has_role(*roles):
            wanted = " or ".join(("admin", *roles))
            raise APIError(403, "forbidden", f"this action needs the {wanted} role")
        return principal
