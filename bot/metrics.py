"""Prometheus metrics, in a registry per app (nothing global at import time)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "frontdesk_messages_received_total", "Customer messages stored", ["channel"], registry=r
        )
        self.duplicates = Counter(
            "frontdesk_duplicates_total", "Retried deliveries recognised", ["source"], registry=r
        )
        self.rejected = Counter(
            "frontdesk_rejected_total", "Inbound requests refused", ["source", "reason"], registry=r
        )
        self.limited = Counter(
            "frontdesk_limited_total", "Inbound messages, sockets and visitors over a limit",
            ["source", "limit"], registry=r,
        )  # fmt: skip
        self.employee_messages = Counter(
            "frontdesk_employee_messages_total", "Employee messages", ["kind"], registry=r
        )
        self.nlu_seconds = Histogram(
            "frontdesk_nlu_parse_seconds", "NLU parse time", registry=r,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )  # fmt: skip
        self.nlu_errors = Counter(
            "frontdesk_nlu_errors_total", "NLU failures by type", ["error"], registry=r
        )
        self.routed = Counter(
            "frontdesk_handoffs_total",
            "Conversations handed to a person",
            ["rule", "availability"],
            registry=r,
        )
        self.first_response = Histogram(
            "frontdesk_first_response_seconds", "From handoff to the employee's first reply",
            registry=r, buckets=(30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
        )  # fmt: skip
        self.escalations = Counter(
            "frontdesk_escalations_total",
            "Conversations without a first reply in time: moved to someone else, or the "
            "team alerted",
            ["outcome"],
            registry=r,
        )
        self.jobs = Counter(
            "frontdesk_outbox_attempts_total",
            "Outbox job attempts by outcome",
            ["kind", "outcome"],
            registry=r,
        )
        self.outbox = Gauge(
            "frontdesk_outbox_queue", "Outbox jobs by status", ["status"], registry=r
        )
        self.open_conversations = Gauge(
            "frontdesk_open_conversations", "Open conversations", ["employee"], registry=r
        )
        self.widget_connections = Gauge(
            "frontdesk_widget_connections", "Open widget WebSockets", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
