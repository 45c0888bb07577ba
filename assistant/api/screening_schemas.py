"""Wire models of the lexicon editor (``/v1/admin/screening``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..screening.editing import MAX_BYTES


class LexiconInfo(BaseModel):
    """One list: shipped (read-only) and operator (editable) files with their entry counts."""

    name: str = Field(description="list name: a shipped file's stem; 'allow' is the allow-list")
    category: str = Field(description="the category its entries get unless a line says @category")
    allow_list: bool
    shipped_entries: int
    operator_entries: int
    shipped_path: str
    operator_path: str = Field(description="where the operator file lives (empty: no operator folder)")
    operator_exists: bool


class LexiconList(BaseModel):
    items: list[LexiconInfo]
    operator_dir: str = Field(description="screening.lexicon_dir (empty: not set, edits impossible)")
    reload_interval_s: float = Field(description="how soon other workers see an edit")


class LexiconDetail(BaseModel):
    info: LexiconInfo
    text: str = Field(description="the operator file's text ('' when none yet)")
    shipped: list[str] = Field(description="the shipped file's non-blank lines, read-only")


class LexiconText(BaseModel):
    text: str = Field(max_length=MAX_BYTES, description="the whole operator file (UTF-8, one entry a line)")


class LexiconSaved(BaseModel):
    info: LexiconInfo
    changed: bool
    entries_loaded: int = Field(description="entries the screener of this worker holds after the reload")


class ScreenTestIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class ScreenTestHit(BaseModel):
    category: str
    term: str = Field(description="the lexicon entry that matched")
    matched: str = Field(description="the span of the tested text")
    start: int
    end: int


class ScreenTestOut(BaseModel):
    input: list[ScreenTestHit] = Field(description="hits when a citizen writes this")
    output: list[ScreenTestHit] = Field(description="hits when an answer says this")
    flagged: bool
