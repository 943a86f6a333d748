"""Unit tests for inngestd.domain.patterns."""

from __future__ import annotations

import pytest

from inngestd.domain.patterns import candidate_patterns, is_wildcard, trigger_matches


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # The examples from Go pkg/event_trigger_patterns.
        ("app/user.created", ["app/user.created", "app/*", "app/user.*"]),
        ("api/v1/users", ["api/v1/users", "api/*", "api/v1/*"]),
        ("user.updated", ["user.updated", "user.*"]),
        ("simple", ["simple"]),
        ("", [""]),
        (
            "a/b/c.d.e",
            ["a/b/c.d.e", "a/*", "a/b/*", "a/b/c.*", "a/b/c.d.*"],
        ),
        ("a.b/c", ["a.b/c", "a.b/*", "a.*"]),
        ("a//b", ["a//b", "a/*", "a//*"]),
        ("/x", ["/x", "/*"]),
        ("x/", ["x/", "x/*"]),
        (
            "inngest/function.finished",
            ["inngest/function.finished", "inngest/*", "inngest/function.*"],
        ),
    ],
)
def test_candidate_patterns(name: str, expected: list[str]) -> None:
    assert candidate_patterns(name) == expected


def test_no_bare_star() -> None:
    assert "*" not in candidate_patterns("app/user.created")


@pytest.mark.parametrize(
    ("trigger", "name", "expected"),
    [
        ("app/user.created", "app/user.created", True),
        ("app/user.created", "app/user.deleted", False),
        ("app/*", "app/user.created", True),
        ("app/*", "app/x", True),
        ("app/*", "app/", True),
        ("app/*", "application/x", False),
        ("app/*", "app", False),
        ("app/*", "other/app/x", False),
        ("app/user.*", "app/user.created", True),
        ("app/user.*", "app/user.created.v2", True),
        ("app/user.*", "app/users.created", False),
        ("app.*", "app.user", True),
        ("api/v1/*", "api/v1/users", True),
        ("api/v1/*", "api/v2/users", False),
        ("api/*", "api/v1/users", True),
        ("*", "anything", False),
        ("app/u*", "app/user", False),  # no mid-segment wildcards
        ("app/*/x", "app/y/x", False),
        ("app/*", "app/*", True),
        ("", "", True),
        ("", "x", False),
    ],
)
def test_trigger_matches(trigger: str, name: str, expected: bool) -> None:
    assert trigger_matches(trigger, name) is expected
    # Equivalent to the Go definition.
    assert (trigger in candidate_patterns(name)) is expected


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [("app/*", True), ("app.*", True), ("app", False), ("*", False), ("app/u*", False)],
)
def test_is_wildcard(trigger: str, expected: bool) -> None:
    assert is_wildcard(trigger) is expected
