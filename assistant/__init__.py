"""政务助手 (Zhengwu Assistant): offline-first retrieval-augmented government-services assistant."""

__version__ = "0.1.0"
