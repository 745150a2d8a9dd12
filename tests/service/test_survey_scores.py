"""Survey scores stored against orders and tickets: idempotent recording (the same reply
twice counts once), the latest reply counting whatever the arrival order, CSAT / NPS
from stored scores, and two real processes recording into one SQLite file."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidValueError
from ecrm.service import (
    MemoryScoreStore,
    RecordOutcome,
    SqliteScoreStore,
    SqliteTicketStore,
    SurveyScore,
    Ticket,
    csat,
    nps,
    satisfaction_by_period,
    score_reply,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 2, 10, tzinfo=SH)
H = dt.timedelta(hours=1)
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _reply(text: str, at: dt.datetime = T0, target_id: str = "A1", **kw: object
           ) -> SurveyScore:
    got = score_reply(text, target=kw.pop("target", "order"), target_id=target_id,
                      customer_id="c1", replied_at=at, **kw)  # type: ignore[arg-type]
    assert got is not None
    return got


def test_score_reply_reads_the_reply_and_names_what_it_is_about() -> None:
    s = _reply("非常满意，物流很快")
    assert (s.target.value, s.target_id, s.scale.value, s.score, s.evidence) == (
        "order", "A1", "csat", 5, "非常满意")
    assert s.survey_key == "order:A1:csat"
    assert s.satisfied
    assert _reply("9分", scale="nps", target="ticket", target_id="T-1").survey_key == \
        "ticket:T-1:nps"
    assert score_reply("T", target="order", target_id="A1", customer_id="c1",
                       replied_at=T0) is None


def test_the_same_reply_gets_the_same_id_and_a_different_one_another() -> None:
    assert _reply("5").reply_id == _reply(" 5 ").reply_id == _reply("５").reply_id
    assert _reply("5").reply_id != _reply("5", T0 + H).reply_id
    assert _reply("5").reply_id != _reply("5", target_id="A2").reply_id
    assert _reply("5", reply_id="sms-77").reply_id == "sms-77"


def test_bad_values_are_named() -> None:
    with pytest.raises(InvalidValueError, match="target must be 'order' or 'ticket'"):
        score_reply("5", target="parcel", target_id="A1", customer_id="c1", replied_at=T0)
    with pytest.raises(InvalidValueError, match=r"score must be 1\.\.5 on the csat scale"):
        SurveyScore("order", "A1", "c1", "csat", 7, T0, "r1")
    with pytest.raises(InvalidValueError, match="target_id"):
        score_reply("5", target="order", target_id=" ", customer_id="c1", replied_at=T0)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield MemoryScoreStore()
    else:
        with SqliteScoreStore(tmp_path / "scores.db") as s:
            yield s


def test_recording_is_idempotent_and_the_latest_reply_counts(store) -> None:  # type: ignore[no-untyped-def]
    three, four, one = _reply("一般", T0), _reply("满意", T0 + H), _reply("很差", T0 - H)
    assert store.record(three) is RecordOutcome.RECORDED
    assert store.record(three) is RecordOutcome.DUPLICATE
    assert store.record(four) is RecordOutcome.REPLACED
    assert store.record(one) is RecordOutcome.OUTDATED  # older than the one that counts
    assert store.record(four) is RecordOutcome.DUPLICATE
    [counted] = store.scores()
    assert (counted.score, counted.replied_at) == (4, T0 + H)
    assert [r.score for r in store.replies()] == [1, 3, 4]
    assert len(store) == 1


def test_a_reply_id_reused_for_another_score_is_refused_and_changes_nothing(store) -> None:  # type: ignore[no-untyped-def]
    store.record(_reply("5", reply_id="sms-1"))
    with pytest.raises(InvalidValueError, match="reply_id was already recorded for "
                       "order:A1:csat with score 5"):
        store.record(_reply("2", T0 + H, reply_id="sms-1"))
    assert [s.score for s in store.replies()] == [5]


def test_csat_and_nps_from_stored_scores_by_hand(store) -> None:  # type: ignore[no-untyped-def]
    for i, text in enumerate(["5", "4", "3", "2"]):
        store.record(_reply(text, target_id=f"A{i}"))
    for i, text in enumerate(["10", "9", "7", "3"]):
        store.record(_reply(text, target_id=f"B{i}", scale="nps"))
    store.record(_reply("1", T0 - H, target_id="A0"))  # outdated: A0 stays 5
    scores = store.scores()
    assert csat(scores) == 2 / 4  # 5 and 4 of 5, 4, 3, 2
    assert nps(scores) == 100 * (2 - 1) / 4  # promoters 10, 9; detractor 3; passive 7
    assert csat([]) is None
    assert nps(scores[:1]) is None
    table = satisfaction_by_period(scores).to_dicts()
    assert [(r["scale"], r["responses"], r["csat"], r["nps"]) for r in table] == [
        ("csat", 4, 0.5, None), ("nps", 4, None, 25.0)]


def test_scores_share_a_file_with_the_ticket_store(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    with SqliteTicketStore(path) as tickets, SqliteScoreStore(path) as scores:
        tickets.add(Ticket.open("T-1", kind="complaint", customer_id="c1", created_at=T0))
        scores.record(_reply("满意", target="ticket", target_id="T-1"))
    with SqliteTicketStore(path) as tickets, SqliteScoreStore(path) as scores:
        assert len(tickets) == 1
        assert [(s.target_id, s.score) for s in scores.scores()] == [("T-1", 4)]
        assert scores.scores()[0] == _reply("满意", target="ticket", target_id="T-1")


# -- arrival order does not matter (reference: the latest reply per survey) ----------------
_REPLIES = st.lists(
    st.tuples(st.sampled_from(["A1", "A2", "T-9"]), st.integers(0, 5),
              st.sampled_from(["1", "2", "3", "4", "5", "满意", "一般"])),
    min_size=1, max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(_REPLIES, st.randoms(use_true_random=False))
def test_any_arrival_order_with_repeats_gives_the_latest_reply_per_survey(
        rows: list[tuple[str, int, str]], rnd: object) -> None:
    replies = [_reply(text, T0 + h * H, target_id=tid) for tid, h, text in rows]
    arrivals = replies + replies[: len(replies) // 2]  # some delivered twice
    rnd.shuffle(arrivals)  # type: ignore[attr-defined]
    store = MemoryScoreStore()
    outcomes = [store.record(r) for r in arrivals]
    distinct = {r.reply_id: r for r in replies}
    assert sum(o is not RecordOutcome.DUPLICATE for o in outcomes) == len(distinct)
    expected: dict[str, tuple[int, str, int]] = {}
    for r in distinct.values():  # the reference: max by (instant, reply id)
        key = (int(r.replied_at.timestamp()), r.reply_id, r.score)
        expected[r.survey_key] = max(expected.get(r.survey_key, key), key)
    assert {s.survey_key: s.score for s in store.scores()} == {
        k: v[2] for k, v in expected.items()}


# -- two processes, one file ---------------------------------------------------------------
WORKER = textwrap.dedent("""
    import datetime as dt, json, os, random, sys, time
    from zoneinfo import ZoneInfo
    from ecrm.service import SqliteScoreStore, RecordOutcome, score_reply

    path, seed, own = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    while not os.path.exists(path + ".go"):  # both start writing together
        time.sleep(0.005)
    t0 = dt.datetime(2026, 12, 2, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    shared = [("A%d" % i, "%d" % (1 + i % 5), i) for i in range(60)]
    mine = [("%s%d" % (own, i), "4", i) for i in range(20)]
    todo = shared + mine
    random.Random(seed).shuffle(todo)
    kept = 0
    with SqliteScoreStore(path, busy_timeout=60) as store:
        for target, text, minute in todo:
            score = score_reply(text, target="order", target_id=target, customer_id="c1",
                                replied_at=t0 + dt.timedelta(minutes=minute))
            kept += store.record(score) is not RecordOutcome.DUPLICATE
    print(json.dumps({"kept": kept}))
""")


def test_two_processes_recording_the_same_replies_keep_each_once(tmp_path: Path) -> None:
    path = tmp_path / "scores.db"
    SqliteScoreStore(path).close()  # create the schema before the race
    env = {"PYTHONPATH": SRC}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(seed), own],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
             for seed, own in ((1, "X"), (2, "Y"))]
    (tmp_path / "scores.db.go").touch()
    kept = 0
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        kept += json.loads(out)["kept"]
    # 60 shared replies and 20 of each process's own: every one kept exactly once
    assert kept == 100
    with SqliteScoreStore(path) as store:
        assert len(store.replies()) == 100
        scores = {s.target_id: s.score for s in store.scores()}
    assert len(scores) == 100
    assert [scores[f"A{i}"] for i in range(5)] == [1, 2, 3, 4, 5]
    assert scores["X7"] == scores["Y19"] == 4


def test_a_reply_in_a_dst_fold_reads_back_as_the_same_instant_and_zone(tmp_path: Path) -> None:
    """01:30 on 2024-11-03 happens twice in New York; the first (EDT, fold=0) and the
    second (EST, fold=1) are different replies an hour apart."""
    ny = ZoneInfo("America/New_York")
    first = _reply("5", dt.datetime(2024, 11, 3, 1, 30, tzinfo=ny))
    second = _reply("3", dt.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ny))
    assert first.reply_id != second.reply_id
    with SqliteScoreStore(tmp_path / "s.db") as store:
        store.record(second)
        store.record(first)
        assert store.replies() == [first, second]
        [latest] = store.scores()
        assert latest.score == 3
        assert latest.replied_at.utcoffset() == -dt.timedelta(hours=5)
        assert latest.replied_at.tzinfo == ny
