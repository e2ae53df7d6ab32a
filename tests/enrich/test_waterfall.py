"""The per-field waterfall on its own: order, checks, skips, transient misses, breaker — and no retries of its own."""

from __future__ import annotations

import pytest

from config import parse_waterfall
from providers.breaker import CircuitBreaker, ProviderUnavailable
from providers.guarded import Guarded
from providers.http import PermanentProviderError, TransientProviderError
from providers.ledger import ProviderPaused
from stages.enrich.waterfall import ProviderSkipped, Waterfall


async def _accept_non_empty(value):
    return value or None


def _answers(*values):
    """A lookup returning `values` one call after another (an exception value is raised)."""
    calls = []

    async def lookup():
        value = values[min(len(calls), len(values) - 1)]
        calls.append(value)
        if isinstance(value, BaseException):
            raise value
        return value

    lookup.calls = calls
    return lookup


async def test_first_accepted_value_wins_and_later_providers_are_not_called() -> None:
    first, second, third = _answers(None), _answers(["a@x.com"]), _answers(["b@x.com"])
    result = await Waterfall("email").run([("one", first), ("two", second), ("three", third)], _accept_non_empty)
    assert result.value == ["a@x.com"] and result.provider == "two"
    assert [(a.provider, a.outcome) for a in result.attempts] == [("one", "empty"), ("two", "accepted")]
    assert third.calls == []


async def test_a_value_failing_the_check_moves_on() -> None:
    async def only_personal(values):
        kept = [v for v in values if not v.startswith("info@")]
        return kept or None

    result = await Waterfall("email").run(
        [("site", _answers(["info@x.com"])), ("finder", _answers(["info@x.com", "ann@x.com"]))], only_personal
    )
    assert result.value == ["ann@x.com"] and result.provider == "finder"
    assert [a.outcome for a in result.attempts] == ["rejected", "accepted"]


async def test_paused_skipped_and_permanent_errors_move_on_without_retry() -> None:
    paused = _answers(ProviderPaused("hunter", "daily budget of $1.00 spent"))
    skipped = _answers(ProviderSkipped("no PageSpeed API configured"))
    broken = _answers(PermanentProviderError("pagespeed", "HTTP 400: bad url"))
    result = await Waterfall("f").run(
        [("a", paused), ("b", skipped), ("c", broken), ("d", _answers(1))], _accept_non_empty
    )
    assert [(a.outcome, a.detail) for a in result.attempts] == [
        ("paused", "hunter: daily budget of $1.00 spent"),
        ("unavailable", "no PageSpeed API configured"),
        ("failed", "pagespeed: HTTP 400: bad url"),
        ("accepted", None),
    ]
    assert len(paused.calls) == len(skipped.calls) == len(broken.calls) == 1


async def test_a_transient_failure_is_that_providers_miss_now_and_the_next_one_answers() -> None:
    down = _answers(TransientProviderError("pagespeed", "HTTP 503"), {"lcp": 1})
    result = await Waterfall("performance").run(
        [("pagespeed", down), ("http", _answers({"ttfb": 1}))], _accept_non_empty
    )
    assert result.provider == "http" and result.value == {"ttfb": 1}
    assert len(down.calls) == 1  # not retried in place: retrying is the runner's decision
    assert [(a.provider, a.outcome) for a in result.attempts] == [("pagespeed", "failed"), ("http", "accepted")]


async def test_no_value_because_of_a_transient_failure_raises_it_for_the_runner_to_retry_the_lead() -> None:
    limited = TransientProviderError("hunter", "HTTP 429", retry_after_s=30.0)
    website, hunter = _answers([]), _answers(limited)
    with pytest.raises(TransientProviderError) as caught:
        await Waterfall("email").run([("website", website), ("hunter", hunter)], _accept_non_empty)
    assert caught.value is limited and caught.value.retry_after_s == 30.0  # the runner backs off by it
    assert len(website.calls) == len(hunter.calls) == 1


@pytest.mark.parametrize("refused_first", [True, False])
async def test_a_failed_call_outranks_an_open_circuits_refusal(refused_first: bool) -> None:
    """The runner counts a failed call as an attempt and only waits out a refusal (`streams.failures`): when a
    field missed both ways, the failure is the one raised, in either order."""
    refused = ProviderUnavailable("pagespeed", "circuit open", retry_after_s=20.0)
    failed = TransientProviderError("hunter", "HTTP 500")
    first, second = (refused, failed) if refused_first else (failed, refused)
    with pytest.raises(TransientProviderError) as caught:
        await Waterfall("f").run([("a", _answers(first)), ("b", _answers(second))], _accept_non_empty)
    assert caught.value is failed


async def test_only_refusals_raise_the_refusal() -> None:
    refused = ProviderUnavailable("pagespeed", "circuit open", retry_after_s=20.0)
    with pytest.raises(ProviderUnavailable) as caught:
        await Waterfall("f").run(
            [("a", _answers(refused)), ("b", _answers(PermanentProviderError("chromium", "page crashed")))],
            _accept_non_empty,
        )
    assert caught.value is refused and caught.value.retry_after_s == 20.0


async def test_no_value_for_good_reasons_is_no_value_not_an_error() -> None:
    result = await Waterfall("email").run(
        [
            ("website", _answers([])),
            ("hunter", _answers(ProviderPaused("hunter", "daily budget spent"))),
            ("other", _answers(PermanentProviderError("other", "HTTP 401"))),
            ("last", _answers(ProviderSkipped("not configured"))),
        ],
        _accept_non_empty,
    )
    assert result.value is None and [a.outcome for a in result.attempts] == ["empty", "paused", "failed", "unavailable"]


async def test_an_open_circuit_skips_the_provider_at_once() -> None:
    calls = []

    async def outage(url):
        calls.append(url)
        raise TransientProviderError("pagespeed", "HTTP 503")

    guarded = Guarded("pagespeed", outage, breaker=CircuitBreaker("pagespeed", failure_threshold=3, open_s=60))
    outcomes = []
    for n in range(5):  # five leads in a row while the provider is down
        result = await Waterfall("performance").run(
            [("pagespeed", lambda n=n: guarded(f"http://site{n}.com/")), ("http", _answers("timings"))],
            _accept_non_empty,
        )
        assert result.provider == "http"  # every lead still completes
        outcomes.append(result.attempts[0].outcome)
    assert outcomes == ["failed", "failed", "failed", "circuit_open", "circuit_open"]
    assert len(calls) == 3  # one call per lead; the third failure opened the circuit


def test_parse_waterfall() -> None:
    assert parse_waterfall("email=website, hunter; performance=pagespeed,http;") == {
        "email": ["website", "hunter"],
        "performance": ["pagespeed", "http"],
    }
    with pytest.raises(ValueError, match="expected field=provider"):
        parse_waterfall("email website")
