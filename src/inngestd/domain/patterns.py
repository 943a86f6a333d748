"""Event-name matching for triggers, including `prefix/*` and `prefix.*` wildcards."""

from __future__ import annotations

__all__ = ["candidate_patterns", "is_wildcard", "trigger_matches"]


def candidate_patterns(name: str) -> list[str]:
    """Every trigger string that matches the event `name`, the name itself first.

    `"app/user.created"` gives `["app/user.created", "app/*", "app/user.*"]`: one `prefix/*` for
    each `/` and one `prefix.*` for each `.` (Go `pkg/event_trigger_patterns`). There is no bare
    `*` and no mid-segment wildcard.
    """
    patterns = [name]
    for separator in ("/", "."):
        start = 0
        while (index := name.find(separator, start)) != -1:
            patterns.append(name[: index + 1] + "*")
            start = index + 1
    return patterns


def is_wildcard(trigger: str) -> bool:
    """Whether a trigger event name is a wildcard pattern (ends in `/*` or `.*`)."""
    return trigger.endswith(("/*", ".*"))


def trigger_matches(trigger: str, name: str) -> bool:
    """Whether a function triggered on `trigger` should run for an event called `name`."""
    if trigger == name:
        return True
    if not is_wildcard(trigger):
        return False
    # Same as `trigger in candidate_patterns(name)`: the prefix keeps its separator.
    return name.startswith(trigger[:-1])
