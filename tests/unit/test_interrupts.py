"""Signals while a run is supervised: SIGINT, SIGTERM and SIGHUP cancel alike; later ones kill or wait."""

from __future__ import annotations

import os
import signal

import pytest

from amlexec.interrupts import Interrupts


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_each_signal_interrupts_a_running_run(signum):
    with Interrupts(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signum)
        _wait_for_signal()


def test_while_stopping_a_signal_kills_once_and_never_raises():
    killed: list[int] = []
    with Interrupts() as signals, signals.stopping(lambda: killed.append(1)):
        os.kill(os.getpid(), signal.SIGINT)
        _wait_for_signal()
        os.kill(os.getpid(), signal.SIGTERM)
        _wait_for_signal()
    assert killed == [1]


def test_while_settling_signals_wait_and_handlers_are_restored_after():
    before = signal.getsignal(signal.SIGHUP)
    with Interrupts() as signals:
        signals.settling()
        os.kill(os.getpid(), signal.SIGHUP)
        _wait_for_signal()
    assert signal.getsignal(signal.SIGHUP) == before


def _wait_for_signal() -> None:
    # Python runs a signal handler between bytecodes of the main thread; a few of them are enough.
    for _ in range(1000):
        pass
