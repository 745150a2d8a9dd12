"""The JSON text of predicates, pinned: documents written before the predicate registry
(0.1.0) still read, and predicates still write exactly these bytes.

Every document below was written by hand from docs/segments.md (the leaf tables and the JSON
section) and checked against the code of main before the predicate classes registered
themselves, so a change in the key names, the key order or the number formats fails here.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

import ecrm.segments
from ecrm import Window
from ecrm.segments import (
    AgeBetween,
    And,
    BirthdayBetween,
    Blocked,
    Carted,
    Favorited,
    FavoritedNotBought,
    GenderIn,
    HasTags,
    MemberLevelIn,
    Not,
    OccupationIn,
    Or,
    Ordered,
    Predicate,
    PredictedClvBetween,
    ProbabilityAliveBetween,
    ProvinceIn,
    Repurchased,
    RfmGradeIn,
    StageIn,
    Visited,
)

SH = ZoneInfo("Asia/Shanghai")
JUNE = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 19), SH)


def _doc(node: str) -> str:
    return '{"version":1,"predicate":' + node + "}"


# (JSON text as Predicate.to_json writes it, the predicate it stands for)
DOCUMENTS: list[tuple[str, Predicate]] = [
    ('{"field":"gender","in":["female","male"]}', GenderIn(["女", "m"])),
    ('{"field":"age","min":20,"max":35}', AgeBetween(20, 35)),
    ('{"field":"age","max":35}', AgeBetween(max_age=35)),
    ('{"field":"birthday","from":"12-20","to":"01-10"}', BirthdayBetween("12-20", "01-10")),
    ('{"field":"occupation","in":["医生","教师"]}', OccupationIn(["医生", "教师"])),
    ('{"field":"province","in":["浙江省","广东省"]}', ProvinceIn(["浙江", "Guangdong"])),
    ('{"field":"member_level","in":[3,4]}', MemberLevelIn([4, 3])),
    ('{"field":"tags","any":["茶友"]}', HasTags(["茶友"])),
    ('{"field":"tags","all":["茶友","VIP"]}', HasTags(["茶友", "VIP"], require_all=True)),
    ('{"field":"blocked"}', Blocked()),
    ('{"field":"visited"}', Visited()),
    ('{"field":"carted","last_days":30}', Carted(last_days=30)),
    ('{"field":"favorited","window":{"start":"2025-06-01T00:00:00+08:00",'
     '"end":"2025-06-19T00:00:00+08:00"}}', Favorited(window=JUNE)),
    ('{"field":"favorited_not_bought","last_days":7}', FavoritedNotBought(last_days=7)),
    ('{"field":"ordered","valid":true}', Ordered()),
    ('{"field":"ordered","last_days":365,"valid":false}',
     Ordered(last_days=365, valid_only=False)),
    ('{"field":"repurchased","last_days":365,"min_days":2}', Repurchased(last_days=365)),
    ('{"field":"repurchased","min_days":3}', Repurchased(min_days=3)),
    ('{"field":"rfm_grade","in":["P","G"],"as_of":"2025-06-01"}',
     RfmGradeIn(["G", "P"], as_of=dt.date(2025, 6, 1))),
    ('{"field":"rfm_grade","in":["B"]}', RfmGradeIn(["B"])),
    ('{"field":"stage","in":["active","silent"],"as_of":"2025-06-01T00:00:00+08:00"}',
     StageIn(["silent", "active"], as_of=dt.datetime(2025, 6, 1, tzinfo=SH))),
    ('{"field":"p_alive","max":0.3}', ProbabilityAliveBetween(max_value=0.3)),
    ('{"field":"p_alive","min":0.0,"max":0.5}', ProbabilityAliveBetween(0, 0.5)),
    ('{"field":"clv","min":100000}', PredictedClvBetween(min_fen=100_000)),
    ('{"op":"not","arg":{"field":"blocked"}}', Not(Blocked())),
    ('{"op":"or","args":[{"field":"occupation","in":["医生","教师"]},'
     '{"field":"carted","last_days":30}]}',
     Or((OccupationIn(["医生", "教师"]), Carted(last_days=30)))),
    # high_potential_returning(), as docs/segments.md describes it
    ('{"op":"and","args":[{"field":"repurchased","last_days":365,"min_days":2},'
     '{"field":"stage","in":["active","silent"]},{"field":"rfm_grade","in":["P","G","S"]},'
     '{"op":"not","arg":{"field":"blocked"}}]}',
     And((Repurchased(last_days=365), StageIn(["active", "silent"]),
          RfmGradeIn(["P", "G", "S"]), Not(Blocked())))),
]


@pytest.mark.parametrize(("node", "predicate"), DOCUMENTS)
def test_an_old_document_reads_as_the_predicate_it_was_written_for(
    node: str, predicate: Predicate
) -> None:
    assert Predicate.from_json(_doc(node)) == predicate
    assert Predicate.from_dict(json.loads(_doc(node))) == predicate


@pytest.mark.parametrize(("node", "predicate"), DOCUMENTS)
def test_a_predicate_writes_the_same_text_as_before(node: str, predicate: Predicate) -> None:
    assert predicate.to_json() == _doc(node)
    assert predicate.to_dict() == json.loads(_doc(node))


def test_every_kind_of_leaf_is_pinned() -> None:
    kinds = {json.loads(node).get("field") for node, _ in DOCUMENTS} - {None}
    assert kinds == {
        "gender", "age", "birthday", "occupation", "province", "member_level", "tags",
        "blocked", "visited", "carted", "favorited", "favorited_not_bought", "ordered",
        "repurchased", "rfm_grade", "stage", "p_alive", "clv",
    }


def test_ecrm_registers_exactly_the_pinned_kinds() -> None:
    from ecrm.segments._predicates import registered_kinds

    ours = {kind: cls for kind, cls in registered_kinds().items()
            if cls.__module__.startswith("ecrm.")}
    leaves = {json.loads(node).get("field") for node, _ in DOCUMENTS} - {None}
    assert set(ours) == leaves | {"and", "or", "not"}
    for kind, cls in ours.items():
        assert getattr(ecrm.segments, cls.__name__) is cls, kind  # the public class itself


def test_a_window_of_local_dates_with_its_zone_reads_as_that_window() -> None:
    node = ('{"field":"carted","window":{"start":"2025-06-01","end":"2025-06-19",'
            '"tz":"Asia/Shanghai"}}')
    assert Predicate.from_json(_doc(node)) == Carted(window=JUNE)


def test_the_deprecated_keys_of_before_still_read_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match='"start"/"end" are deprecated'):
        old = Predicate.from_json(_doc('{"field":"carted","start":"2025-06-01","end":"2025-06-19"}'))
    with pytest.warns(DeprecationWarning, match="start=/end= are deprecated"):
        want = Carted(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 19))
    assert old == want
    assert old.legacy_bounds == (dt.date(2025, 6, 1), dt.date(2025, 6, 19))  # type: ignore[attr-defined]
    # the deprecated bounds are written back as they came
    assert old.to_json() == _doc('{"field":"carted","start":"2025-06-01","end":"2025-06-19"}')
    with pytest.warns(DeprecationWarning, match='the key "at" is deprecated'):
        graded = Predicate.from_json(_doc('{"field":"rfm_grade","in":["P"],"at":"2025-06-01"}'))
    assert graded == RfmGradeIn(["P"], as_of=dt.date(2025, 6, 1))
