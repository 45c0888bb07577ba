"""Prometheus metrics on a per-app ``CollectorRegistry`` (so several apps, e.g. in tests, never collide)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 20.0)


class Metrics:
    """Requests by route and status, latency by route and by pipeline stage, outcomes and feedback."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "zhengwu_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "zhengwu_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.stage = Histogram(
            "zhengwu_stage_seconds",
            "Pipeline stage latency (from Answer.timings)",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.answers = Counter(
            "zhengwu_answers", "Answers by who answered", ["answered_by", "channel"], registry=r
        )
        self.handoffs = Counter("zhengwu_handoffs", "Hand-offs to humans by reason", ["reason"], registry=r)
        self.refusals = Counter(
            "zhengwu_refusals", "Questions not answered (hand-off or clarify)", ["kind"], registry=r
        )
        self.feedback = Counter("zhengwu_feedback", "Feedback by rating", ["rating"], registry=r)
        self.rate_limited = Counter(
            "zhengwu_rate_limited", "Requests refused by a rate limit", ["scope"], registry=r
        )
        self.rate_limit_storage_errors = Counter(
            "zhengwu_rate_limit_storage_errors",
            "Rate-limit checks the shared store (Redis) did not answer; in-process limits applied",
            registry=r,
        )

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_answer(
        self, answered_by: str, channel: str, timings: Mapping[str, float], handoff: str | None, clarify: bool
    ) -> None:
        self.answers.labels(answered_by or "unknown", channel).inc()
        for stage, ms in timings.items():
            self.stage.labels(stage).observe(float(ms) / 1000.0)
        if handoff:
            self.handoffs.labels(handoff).inc()
            self.refusals.labels("handoff").inc()
        elif clarify:
            self.refusals.labels("clarify").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
