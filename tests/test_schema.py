"""The migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""
import datetime as dt

from playhouse.schema_diff import diff_models

from core.arrangements import Arrangement

from core.db import db, migrate, pending_migrations
from core.models import ALL_MODELS


def test_migrations_match_the_models(database):
    diff = diff_models(db.obj, ALL_MODELS)
    assert not diff, f"the models changed without a migration: {diff}"


def test_migrating_again_does_nothing(database):
    assert pending_migrations() == []
    assert migrate() == []


def test_one_active_pairing_index_exists(database):
    indexes = {index.name for index in db.get_indexes("pairing")}
    assert "pairing_one_active_per_village" in indexes


def _town_and_lawyer(execute):
    """A district with one town, and a lawyer of a firm, in an older schema."""
    execute("INSERT INTO district (code, name) VALUES ('D', '区')")
    execute("INSERT INTO town (district_id, code, name, judicial_office, office_head, "
            "office_phone) VALUES (1, 'T', '镇', '', '', '')")
    execute("INSERT INTO law_firm (name, address, phone) VALUES ('所', '', '')")
    execute("INSERT INTO lawyer (name, firm_id, licence_no, phone, wechat, photo, active) "
            "VALUES ('张明', 1, 'L1', '', '', '', 1)")


def test_arrangements_are_read_from_what_pairings_published(tmp_path):
    """Migration 0006 turns each pairing's published hours ("每月第二个周二上午 9:00-12:00")
    and preferred weekday into its arrangement, lengthening a window shorter than the
    half-day rule at its end, so a session held as published counts."""
    from playhouse.migrations import Runner

    from core.db import MIGRATIONS_DIR, open_database
    from core.models import Pairing
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.connection_context():
        runner = Runner(database, directory=str(MIGRATIONS_DIR))
        runner.up(target="0005_security")
        execute = database.execute_sql
        _town_and_lawyer(execute)
        rows = (("每月第二个周二上午 9:00-12:00", None, None),
                ("每月最后一个星期五 14:00–17:30", None, None),
                ("逢集日", 2, "pm"))
        for number, (words, weekday, half) in enumerate(rows, start=1):
            execute("INSERT INTO village (town_id, code, name, kind) VALUES (1, ?, ?, 'village')",
                    (f"V{number}", f"村{number}"))
            execute("INSERT INTO pairing (lawyer_id, village_id, term_start, term_end, "
                    "onsite_hours, preferred_weekday, preferred_half_day, status, end_reason, "
                    "created_at, updated_at) VALUES (1, ?, '2026-01-01', '2028-12-31', ?, ?, ?, "
                    "'active', '', '2026-01-01', '2026-01-01')", (number, words, weekday, half))
        runner.up()
        found = [p.arrangement for p in Pairing.select().order_by(Pairing.id)]
    T = dt.time
    assert found[0] == Arrangement(2, 1, T(9, 0), T(12, 30))  # 3 hours: lengthened to 3.5
    assert found[1] == Arrangement(5, 4, T(14, 0), T(17, 30))
    assert (found[2].weekday, found[2].start, found[2].end) == (2, T(14, 0), T(17, 30))


def test_ratings_from_before_the_codes_stay_as_anonymous_feedback(tmp_path):
    """Migration 0007: a rating given before rating codes existed is kept, with its device,
    and no longer counts (core.feedback.counts)."""
    from playhouse.migrations import Runner

    from core.db import MIGRATIONS_DIR, open_database
    from core.feedback import counts
    from core.models import Rating
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    with db.connection_context():
        runner = Runner(database, directory=str(MIGRATIONS_DIR))
        runner.up(target="0006_year_together")
        execute = database.execute_sql
        _town_and_lawyer(execute)
        execute("INSERT INTO village (town_id, code, name, kind, address) "
                "VALUES (1, 'V1', '村1', 'village', '')")
        execute("INSERT INTO pairing (lawyer_id, village_id, term_start, term_end, status, "
                "end_reason, created_at, updated_at, onsite_week, onsite_weekday, "
                "onsite_start, onsite_end) VALUES (1, 1, '2026-01-01', '2028-12-31', 'active', "
                "'', '2026-01-01', '2026-01-01', 1, 0, '08:30:00', '12:00:00')")
        execute("INSERT INTO rating (pairing_id, period, device_hash, score, comment, created_at, "
                "followed_up) VALUES (1, '2026Q1', 'abc', 1, '差', '2026-01-10 02:00:00', 0)")
        runner.up()
        rating = Rating.get()
        assert (rating.device_hash, rating.code_id, rating.address_hash, rating.excluded) == (
            "abc", None, "", False)
        assert not Rating.select().where(counts()).exists()
