"""``/v1/admin/screening``: the 安全词库 — view the lexicons, edit operator files, try a text.

Reviewers (and editors) may read and try texts; only admins write: content rules decide what citizens
may ask, so changing them is an admin's decision. A write is validated, written atomically into
``screening.lexicon_dir`` (the one the serving assistant reads), reloaded at once in this worker (others follow by mtime within
``screening.reload_interval_s``) and audited with before/after. The logic lives in
``assistant/screening/editing.py``.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path

from ...screening import editing
from ...screening.lexicon import LexiconScreener
from ..admin_schemas import ADMIN_ERRORS
from ..deps import AdminRoleDep, AssistantDep, DatabaseDep, StaffDep
from ..screening_schemas import (
    LexiconDetail,
    LexiconInfo,
    LexiconList,
    LexiconSaved,
    LexiconText,
    ScreenTestHit,
    ScreenTestIn,
    ScreenTestOut,
)
from ._review import audit

router = APIRouter(prefix="/v1/admin/screening", tags=["admin: screening lexicons"])
ListName = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_-]*$")]


def _info(item: editing.ListInfo) -> LexiconInfo:
    return LexiconInfo(allow_list=item.name == editing.ALLOW, **vars(item))


def _one(lexicon_dir: FsPath | None, name: str) -> LexiconInfo:
    return next(_info(i) for i in editing.lists(lexicon_dir) if i.name == name)


@router.get(
    "/lexicons", response_model=LexiconList, responses=ADMIN_ERRORS, summary="The lexicons and the allow-list"
)
def list_lexicons(assistant: AssistantDep, who: StaffDep) -> LexiconList:
    s = assistant.settings.screening
    return LexiconList(
        items=[_info(i) for i in editing.lists(s.lexicon_dir)],
        operator_dir=str(s.lexicon_dir or ""),
        reload_interval_s=s.reload_interval_s,
    )


@router.get(
    "/lexicons/{name}",
    response_model=LexiconDetail,
    responses=ADMIN_ERRORS,
    summary="One list's operator file",
)
def get_lexicon(name: ListName, assistant: AssistantDep, who: StaffDep) -> LexiconDetail:
    d = assistant.settings.screening.lexicon_dir
    text = editing.read_operator(d, name) if d is not None else ""
    return LexiconDetail(info=_one(d, name), text=text, shipped=editing.shipped_lines(name))


@router.put(
    "/lexicons/{name}",
    response_model=LexiconSaved,
    responses=ADMIN_ERRORS,
    summary="Replace one list's operator file (admin; validated, reloaded at once, audited)",
)
def put_lexicon(
    name: ListName,
    body: LexiconText,
    assistant: AssistantDep,
    db: DatabaseDep,
    who: AdminRoleDep,
) -> LexiconSaved:
    d = assistant.settings.screening.lexicon_dir
    before, after = editing.write_operator(d, name, body.text)
    changed = before != after
    if changed:
        audit(
            db,
            who,
            "screening.lexicon.update",
            f"lexicon:{name}",
            before={"text": before},
            after={"text": after},
        )
    screener = assistant.moderator.screener
    loaded = 0
    if isinstance(screener, LexiconScreener):
        screener.warm_up()  # this worker at once; the others by mtime
        loaded = screener.size()
    return LexiconSaved(info=_one(d, name), changed=changed, entries_loaded=loaded)


def _hits(text: str, screening: Any) -> list[ScreenTestHit]:
    return [
        ScreenTestHit(
            category=h.category, term=h.term, matched=text[h.start : h.end], start=h.start, end=h.end
        )
        for h in screening.hits
    ]


@router.post(
    "/test", response_model=ScreenTestOut, responses=ADMIN_ERRORS, summary="What the screener flags in a text"
)
def test_text(body: ScreenTestIn, assistant: AssistantDep, who: StaffDep) -> ScreenTestOut:
    screener = assistant.moderator.screener
    inp = _hits(body.text, screener.screen(body.text, "input"))
    out = _hits(body.text, screener.screen(body.text, "output"))
    return ScreenTestOut(input=inp, output=out, flagged=bool(inp or out))
