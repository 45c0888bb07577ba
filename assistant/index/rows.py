"""Per-row metadata of an index generation, and the restrictions a vector search can apply itself.

``RowFilter`` is what the retriever asks for (rows in force on a day, of some types, of a department);
``RowTable`` holds the per-row fields it needs, built once from the chunks. FAISS turns a filter
into a row mask (``RowTable.mask``); Milvus turns it into a filter expression over the same fields,
stored as scalar fields of each row (``assistant/index/milvus.py``). The validity rule itself stays
in ``validity.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..types import Chunk
from ..validity import ValidityTable

# the scalar fields a vector store keeps per row, as chunk metadata keys (doc_id comes from the chunk)
SCALAR_FIELDS = ("region", "type", "department", "status", "effective_date", "expiry_date")


@dataclass(frozen=True)
class RowFilter:
    """Restrictions on rows: in force on ``in_force_on`` (ISO date; "" = any), of one of ``types``
    (empty = any), of a department whose name contains ``department`` ("" = any)."""

    in_force_on: str = ""
    types: tuple[str, ...] = ()
    department: str = ""

    def __bool__(self) -> bool:
        return bool(self.in_force_on or self.types or self.department)


def _meta(chunk: Chunk, key: str) -> str:
    return str(chunk.metadata.get(key, "") or "")


@dataclass
class RowTable:
    """Row-ordered metadata arrays: ``fields[name][row]`` for each of ``SCALAR_FIELDS``, plus ``doc_id``."""

    doc_id: np.ndarray
    fields: dict[str, np.ndarray]
    validity: ValidityTable
    # masks of recent filters: the same "in force today" filter comes with nearly every search, and
    # comparing date strings over a million rows costs more than the search it restricts
    _masks: dict[RowFilter, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> RowTable:
        return cls(
            doc_id=np.array([c.doc_id for c in chunks], dtype=str),
            fields={f: np.array([_meta(c, f) for c in chunks], dtype=str) for f in SCALAR_FIELDS},
            validity=ValidityTable.of(chunks),
        )

    def __len__(self) -> int:
        return len(self.doc_id)

    def mask(self, where: RowFilter) -> np.ndarray:
        """One bool per row: True when the row meets every restriction of ``where`` (read-only)."""
        cached = self._masks.get(where)
        if cached is None:
            if len(self._masks) >= 16:
                self._masks.clear()
            cached = self._masks[where] = self._compute(where)
            cached.flags.writeable = False
        return cached

    def _compute(self, where: RowFilter) -> np.ndarray:
        keep = np.ones(len(self), dtype=bool)
        if where.in_force_on:
            keep &= self.validity.in_force(np.arange(len(self)), where.in_force_on)
        if where.types:
            keep &= np.isin(self.fields["type"], list(where.types))
        if where.department:
            keep &= np.char.find(self.fields["department"], where.department) >= 0
        return keep
