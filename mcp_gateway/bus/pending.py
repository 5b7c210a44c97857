"""What a caller on a broker keeps while its calls are out, for both adapters: a waiter per
call (woken by the one reply meant for it) and a bound per address on calls in flight."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

from mcp_gateway.bus.remote import slots

T = TypeVar("T")


@dataclass
class Waiter(Generic[T]):
    done: anyio.Event
    answer: T | None = None


class PendingCalls(Generic[T]):
    def __init__(self, max_in_flight: int) -> None:
        self._max_in_flight = max_in_flight
        self._waiters: dict[str, Waiter[T]] = {}
        self._limits: dict[str, anyio.Semaphore] = {}

    def limiter(self, address: str) -> anyio.Semaphore:
        """The bound on this caller's calls of `address` in flight."""
        return self._limits.get(address) or self._limits.setdefault(address, slots(self._max_in_flight))

    @contextmanager
    def waiting(self, call_id: str) -> Iterator[Waiter[T]]:
        """A waiter for the reply to `call_id`, forgotten on the way out (answered or not)."""
        waiter: Waiter[T] = Waiter(anyio.Event())
        self._waiters[call_id] = waiter
        try:
            yield waiter
        finally:
            del self._waiters[call_id]

    def answer(self, call_id: str, answer: T | None) -> None:
        """Wake the caller of `call_id` with `answer`; a reply for a caller that gave up, or a
        second reply, is dropped."""
        waiter = self._waiters.get(call_id)
        if waiter is None or waiter.done.is_set():
            return
        waiter.answer = answer
        waiter.done.set()
