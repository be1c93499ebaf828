"""The migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""
from playhouse.schema_diff import diff_models

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
