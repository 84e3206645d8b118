"""irrepro.cores: the CPU cores a process may use."""
import os

import irrepro.cores as cores


def test_the_usable_cores_are_the_processes_affinity_where_the_os_keeps_one(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert cores.usable_cores() == 1


def test_without_an_affinity_every_core_of_the_machine_is_usable(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert cores.usable_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # the OS cannot tell
    assert cores.usable_cores() == 1
