"""The one error hierarchy of 政务助手; the CLI and the API translate these into messages and HTTP codes."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for every error this package raises on purpose."""

    code = "assistant_error"
    http_status = 500
    retry_after_s: int | None = None  # seconds a client should wait before retrying (Retry-After)


class ConfigError(AssistantError):
    """Settings are inconsistent or name an unknown backend."""

    code = "config_error"
    http_status = 500


class MissingDependencyError(ConfigError):
    """A backend needs an optional extra that is not installed."""

    code = "missing_dependency"

    def __init__(self, package: str, extra: str, why: str = "") -> None:
        hint = f"install the extra: pip install 'zhengwu-assistant[{extra}]'"
        super().__init__(f"{package} is not installed; {hint}" + (f" ({why})" if why else ""))
        self.package = package
        self.extra = extra


class LoaderError(AssistantError):
    """A knowledge file could not be read or parsed."""

    code = "loader_error"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexError_(AssistantError):
    """The index is missing, corrupt, or was built with another embedder."""

    code = "index_error"
    http_status = 503


class IndexMissingError(IndexError_):
    code = "index_missing"


class IndexMismatchError(IndexError_):
    code = "index_mismatch"


class EmptyKnowledgeError(AssistantError):
    code = "empty_knowledge"


class InvalidInputError(AssistantError):
    """A caller's input is unusable (empty question, too long, wrong filter)."""

    code = "invalid_input"
    http_status = 422


class NotFoundError(AssistantError):
    code = "not_found"
    http_status = 404


class ConflictError(AssistantError):
    """The write would replace something that already exists (e.g. a stored exchange)."""

    code = "conflict"
    http_status = 409


class StorageError(AssistantError):
    """Session storage failed (disk full, database locked); the caller may retry later."""

    code = "storage_unavailable"
    http_status = 503
    retry_after_s = 30


class SpeechUnavailableError(AssistantError):
    """Read-aloud cannot run here (no speech engine installed, or it failed)."""

    code = "speech_unavailable"
    http_status = 503


class UpstreamError(AssistantError):
    """An external model or service failed or timed out."""

    code = "upstream_error"
    http_status = 502


class UpstreamTimeoutError(UpstreamError):
    code = "upstream_timeout"
    http_status = 504


__all__ = [
    "AssistantError",
    "ConfigError",
    "MissingDependencyError",
    "LoaderError",
    "IndexError_",
    "IndexMissingError",
    "IndexMismatchError",
    "EmptyKnowledgeError",
    "InvalidInputError",
    "NotFoundError",
    "ConflictError",
    "StorageError",
    "UpstreamError",
    "UpstreamTimeoutError",
]
