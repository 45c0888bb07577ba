"""QR code SVGs for kiosk screens, built off the event loop, one at a time, and cached.

``segno`` is pure Python: a 500-character URL takes tens of milliseconds of CPU. Built inside an
``async def`` it would stall every other request (``/healthz`` included), so the route
(``routes/qr.py``) runs ``qr_svg`` in a worker thread behind a one-slot limiter
(``app.state.qr_limiter``): a flood of QR requests queues there and uses at most one core. URLs are
capped (``presentation.qr_url_ok``) and results are kept in a small LRU cache (kiosks show the same
few service links again and again). The route needs an API key and counts against the caller's rate
limit like any ``/v1`` call.
"""

from __future__ import annotations

import io
from functools import lru_cache


@lru_cache(maxsize=256)
def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as SVG bytes (blocking; call it in a worker thread)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False)
    return buf.getvalue()
