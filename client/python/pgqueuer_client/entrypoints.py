"""Entrypoint and schedule registrations of a queue manager.

An entrypoint is a handler plus the settings the server enforces for it
(``pgqueuer.register_entrypoint``): concurrency and rate limits, lease,
attempts, retry back-off, what happens after the last failure.  Settings go
to the server only when at least one of them was given, so a worker that
just serves an entrypoint never overwrites limits that another worker (C,
``--exec``, Python) or an operator registered.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import timedelta
from typing import Any, Callable, Optional, Union

from .models import Context

Seconds = Union[timedelta, float, int]


def seconds(value: Optional[Seconds], name: str) -> Optional[float]:
    """``value`` (timedelta or seconds) in seconds, None kept; ValueError
    when negative."""
    if value is None:
        return None
    s = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if s < 0:
        raise ValueError(f"{name} must not be negative")
    return s


@dataclasses.dataclass
class Entrypoint:
    """One registered entrypoint: ``name``, ``func`` (the handler),
    ``is_async``, ``accepts_context`` and the registry settings (None =
    not given).  ``register`` says whether the settings are sent to the
    server at start."""

    name: str
    func: Callable[..., Any]
    is_async: bool
    accepts_context: bool
    concurrency_limit: int = 0
    requests_per_second: float = 0.0
    lease_timeout: Optional[float] = None
    max_attempts: Optional[int] = None
    retry_backoff_base: Optional[float] = None
    retry_backoff_max: Optional[float] = None
    on_failure: str = "delete"
    register: bool = False

    def registry_params(self) -> tuple:
        """Parameters of ``pgqueuer.register_entrypoint`` for this entry."""
        return (
            self.name,
            self.concurrency_limit,
            None if self.lease_timeout is None else timedelta(seconds=self.lease_timeout),
            self.max_attempts,
            float(self.requests_per_second),
            timedelta(seconds=1.0 if self.retry_backoff_base is None else self.retry_backoff_base),
            timedelta(seconds=300.0 if self.retry_backoff_max is None else self.retry_backoff_max),
            self.on_failure,
        )


@dataclasses.dataclass
class ScheduleEntry:
    """A cron schedule to register at start: ``entrypoint``,
    ``expression``, ``func`` and whether older schedules of the entrypoint
    are removed first (``clean_old``)."""

    entrypoint: str
    expression: str
    func: Callable[..., Any]
    is_async: bool
    accepts_context: bool
    clean_old: bool = False
    schedule_id: Optional[int] = None


def wants_context(func: Callable[..., Any], accepts_context: Optional[bool]) -> bool:
    """Whether ``func`` is called as ``func(job, context)``: the explicit
    flag when given, else true when it has a second positional parameter
    or a parameter annotated with :class:`Context` (PgQueuer detects the
    annotation; a second parameter is accepted too)."""
    if accepts_context is not None:
        if not isinstance(accepts_context, bool):
            raise ValueError("accepts_context must be a bool or None")
        return accepts_context
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return False
    params = [
        p for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    for p in params:
        if p.annotation is Context or p.annotation == "Context":
            return True
    return len(params) >= 2


def is_async_callable(func: Callable[..., Any]) -> bool:
    """Whether calling ``func`` returns an awaitable (coroutine functions,
    partials of them, objects whose ``__call__`` is one)."""
    target = func
    while hasattr(target, "func") and not inspect.isfunction(target):
        target = target.func  # functools.partial
    if inspect.iscoroutinefunction(target):
        return True
    call = getattr(target, "__call__", None)
    return call is not None and inspect.iscoroutinefunction(call)


def make_entrypoint(
    name: str,
    func: Callable[..., Any],
    *,
    concurrency_limit: Optional[int],
    requests_per_second: Optional[float],
    lease_timeout: Optional[Seconds],
    max_attempts: Optional[int],
    retry_backoff_base: Optional[Seconds],
    retry_backoff_max: Optional[Seconds],
    on_failure: Optional[str],
    accepts_context: Optional[bool],
    register: Optional[bool],
) -> Entrypoint:
    """Validate the decorator's arguments (ValueError as in PgQueuer:
    negative or non-integer limits, an unknown ``on_failure``) and build
    the :class:`Entrypoint`.  The server checks the rest when registering."""
    if not isinstance(name, str) or not name:
        raise ValueError("entrypoint name must be a non-empty string")
    if concurrency_limit is not None and (not isinstance(concurrency_limit, int) or concurrency_limit < 0):
        raise ValueError("concurrency_limit must be an integer >= 0")
    if requests_per_second is not None and (not isinstance(requests_per_second, (int, float)) or requests_per_second < 0):
        raise ValueError("requests_per_second must be a number >= 0")
    if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 0):
        raise ValueError("max_attempts must be an integer >= 0")
    if on_failure is not None and on_failure not in ("delete", "hold"):
        raise ValueError("on_failure must be 'delete' or 'hold'")
    given = any(
        v is not None
        for v in (concurrency_limit, requests_per_second, lease_timeout, max_attempts,
                  retry_backoff_base, retry_backoff_max, on_failure)
    )
    return Entrypoint(
        name=name,
        func=func,
        is_async=is_async_callable(func),
        accepts_context=wants_context(func, accepts_context),
        concurrency_limit=concurrency_limit or 0,
        requests_per_second=float(requests_per_second or 0.0),
        lease_timeout=seconds(lease_timeout, "lease_timeout"),
        max_attempts=max_attempts,
        retry_backoff_base=seconds(retry_backoff_base, "retry_backoff_base"),
        retry_backoff_max=seconds(retry_backoff_max, "retry_backoff_max"),
        on_failure=on_failure or "delete",
        register=given if register is None else bool(register),
    )
