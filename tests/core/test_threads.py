"""ecrm._threads: a job in the background and jobs in order on worker threads."""

from __future__ import annotations

import threading
import time

import pytest

from ecrm._threads import Background, OrderedWorkers, usable_cpus


def test_background_gives_the_result_or_raises_the_error_in_the_caller() -> None:
    assert Background(sum, [1, 2, 3]).result() == 6
    job = Background(int, "not a number")
    job.join()  # joining keeps the error for result()
    with pytest.raises(ValueError, match="not a number"):
        job.result()


@pytest.mark.parametrize("n", [0, 1, 3])
def test_workers_give_results_in_the_order_submitted(n: int) -> None:
    # later jobs finish first (shorter sleeps), yet come back in submission order
    def job(i: int) -> int:
        time.sleep(0.002 * (20 - i))
        return i * i

    got: list[int] = []
    with OrderedWorkers(n) as workers:
        for i in range(20):
            workers.submit(job, i)
            got.extend(workers.due())
        got.extend(workers.rest())
    assert got == [i * i for i in range(20)]


def test_workers_hold_at_most_n_plus_one_jobs() -> None:
    running = 0
    most = 0
    lock = threading.Lock()

    def job(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.005)
        with lock:
            running -= 1
        return i

    with OrderedWorkers(2) as workers:
        pending = 0
        for i in range(12):
            workers.submit(job, i)
            pending += 1
            pending -= len(list(workers.due()))
            assert pending <= 3  # n + 1 in flight after due()
        assert list(workers.rest())[-1] == 11
    assert most <= 2


def test_a_failing_job_raises_where_its_result_is_taken_and_close_drops_the_rest() -> None:
    started: list[int] = []

    def job(i: int) -> int:
        started.append(i)
        if i == 1:
            raise KeyError("chunk 1")
        time.sleep(0.01)
        return i

    workers = OrderedWorkers(1)
    for i in range(3):
        workers.submit(job, i)
    results = workers.rest()
    assert next(results) == 0
    with pytest.raises(KeyError, match="chunk 1"):
        next(results)
    workers.close()
    assert started[:2] == [0, 1]


def test_usable_cpus_is_at_least_one() -> None:
    assert usable_cpus() >= 1
