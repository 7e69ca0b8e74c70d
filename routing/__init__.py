"""Routing: the config schema and the pure decision of who answers a customer."""

from routing.config import (
    Channel,
    ConfigError,
    Employee,
    RoutingConfig,
    Rule,
    Target,
    Team,
    load_config,
    parse_config,
)
from routing.decision import (
    Availability,
    Decision,
    EmployeeState,
    RosterState,
    RoutingRequest,
    availability,
    considered,
    route,
    route_to,
)

__all__ = [
    "Availability",
    "Channel",
    "ConfigError",
    "Decision",
    "Employee",
    "EmployeeState",
    "RosterState",
    "RoutingConfig",
    "RoutingRequest",
    "Rule",
    "Target",
    "Team",
    "availability",
    "considered",
    "load_config",
    "parse_config",
    "route",
    "route_to",
]
