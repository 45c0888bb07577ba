"""Who may use a session: server-issued session tokens, bound to the key that created them.

A client never names a server-side session. ``POST /v1/chat`` without ``session_id`` starts one and
returns a fresh random token (``session_id`` on the wire, 192 bits); the store keys the session by
a hash of that token, so ids in logs and in the database cannot be replayed. The session is owned
by the caller's key (``key_id``) — a kiosk key's sessions are its own; sessions made with a public
widget key are shared by that key's visitors only through their unguessable tokens. Unknown,
expired and foreign sessions all look the same: 404. Admin keys may open any session, by token or
by the hashed id an operator sees in the logs.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

from ..errors import NotFoundError
from ..sessions import Exchange, SessionStore
from .security import Principal


def server_id(token: str) -> str:
    """The store's id for the session behind ``token`` (what logs show)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:32]


def owner_of(principal: Principal) -> str:
    """The owner string stored with a session: the key's id, or the principal's kind without keys."""
    return principal.key_id or principal.kind


def open_session(store: SessionStore, principal: Principal, token: str) -> str:
    """The server id of the caller's session ``token``; ``NotFoundError`` when unknown, expired or foreign."""
    sid = server_id(token)
    owner = store.owner(sid)
    if principal.kind == "admin":
        if owner is None and store.owner(token) is not None:
            return token  # an operator looking up an id from the logs
        if owner is not None:
            return sid
    elif owner is not None and secrets.compare_digest(owner, owner_of(principal)):
        return sid
    raise NotFoundError("unknown session")


def check_exchange(store: SessionStore, principal: Principal, request_id: str, token: str | None) -> None:
    """Allow rating exchange ``request_id``: it exists and lies in a session the caller may open.

    Public (widget) and anonymous callers must also name the session (``token``): their key alone
    is shared by every visitor.
    """
    sid = store.session_of(request_id)
    if sid is None:
        raise NotFoundError(f"unknown request_id {request_id!r}")
    if token is None:
        if principal.kind in ("widget", "anonymous"):
            raise NotFoundError(f"unknown request_id {request_id!r}")  # widget: send its session_id
        owner = store.owner(sid)
        if principal.kind == "admin" or (owner is not None and owner == owner_of(principal)):
            return
        raise NotFoundError(f"unknown request_id {request_id!r}")
    if open_session(store, principal, token) != sid:
        raise NotFoundError(f"unknown request_id {request_id!r}")


class SessionRef(NamedTuple):
    """The session of one chat turn."""

    token: str  # what the client holds (``session_id`` on the wire)
    sid: str  # the store's id (and the logs')
    owner: str | None  # set only for a new session, which is created with its first exchange


def resolve_session(store: SessionStore, principal: Principal, token: str | None) -> SessionRef:
    """A fresh session when ``token`` is None, else the caller's existing one (``NotFoundError`` if not)."""
    if token is None:
        token = secrets.token_urlsafe(24)
        return SessionRef(token, server_id(token), owner_of(principal))
    return SessionRef(token, open_session(store, principal, token), None)


def save_exchange(store: SessionStore, exchange: Exchange, owner: str | None) -> None:
    """Store ``exchange``, first creating its session for ``owner`` when the session is new."""
    if owner is not None:
        store.create(exchange.session_id, owner)
    store.append(exchange)
