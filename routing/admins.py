"""The config key naming who may sign in to the admin console (`admins: [sam, priya]`),
by employee id: someone not among the employees is a mistake the file must name."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from routing.document import Problem


def unknown_admins(admins: Sequence[str], employee_ids: Sequence[str]) -> list[Problem]:
    """A problem for each admin who is not an employee, with the nearest id if any."""
    problems = []
    for i, admin in enumerate(admins):
        if admin not in employee_ids:
            hint = difflib.get_close_matches(admin, employee_ids, n=1)
            suggestion = f"did you mean {hint[0]!r}?" if hint else "admins are employee ids"
            problems.append(Problem(("admins", i), f"unknown employee {admin!r}; {suggestion}"))
    return problems
