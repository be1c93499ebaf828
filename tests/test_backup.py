"""Backup and restore (core.backup, ``jiedui backup`` / ``jiedui restore``) on the test
database (SQLite, or PostgreSQL with JIEDUI_TEST_DATABASE_URL): the demo district
round-trips row by row with its attachments, a backup taken while another thread writes
is consistent, and a bad archive is refused with nothing changed."""
import io
import json
import os
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest

from core import backup, cases
from core.db import db, is_sqlite
from core.models import ALL_MODELS, Attachment, District, Event, Shortfall, Town, Village
from tests.cli_support import run_jiedui

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n% a scanned agreement\n%%EOF\n"


@pytest.fixture(autouse=True)
def instance(tmp_path, monkeypatch):
    """Attachments go to this test's own instance folder."""
    monkeypatch.setenv("JIEDUI_INSTANCE", str(tmp_path / "instance"))
    return tmp_path / "instance"


def every_row() -> dict:
    """Every table of ALL_MODELS, every column, ordered by id."""
    return {model.__name__: list(model.select().order_by(model.id).tuples())
            for model in ALL_MODELS}


def attach_two_files() -> list[Attachment]:
    village = Village.select().order_by(Village.id).first()
    lawyer = village.pairings.first().lawyer
    case = cases.open_case(None, title="王某土地承包纠纷", lawyer=lawyer, village=village)
    return [cases.attach_file(None, case, "现场.png", io.BytesIO(PNG)),
            cases.attach_file(None, case, "协议.pdf", io.BytesIO(PDF))]


def rewrite_manifest(source: Path, target: Path, **changes) -> None:
    """A copy of the archive with a changed manifest (everything else as it was)."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == backup.MANIFEST:
                data = json.dumps({**json.loads(data), **changes}).encode()
                member.size = len(data)
            new.addfile(member, io.BytesIO(data))


@pytest.fixture
def small_backup(district, tmp_path):
    attach_two_files()
    path = tmp_path / "small.tar.gz"
    backup.backup(path)
    return path


def test_the_demo_district_round_trips_every_table_and_its_attachments(demo_db, tmp_path):
    # demo_db: the district, this year's tasks and calendar (held events too)
    files = attach_two_files()
    before = every_row()
    assert all(before[name] for name in ("Village", "Pairing", "Task", "Event", "Attachment"))
    path = tmp_path / "demo.tar.gz"

    manifest = backup.backup(path)

    assert manifest["dialect"] == ("sqlite" if is_sqlite() else "postgresql")
    assert manifest["tables"]["village"] == 131 and manifest["attachments"] == 2
    assert set(manifest["migrations"]) == backup.known_migrations()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # Then people carry on: data changes, rows and an attachment go.
    Village.update(name="改过的名字").where(Village.id == files[0].case.village_id).execute()
    Shortfall.delete().execute()
    Event.update(status="cancelled").execute()
    Town.create(district=District.get(), code="NEW", name="新镇", judicial_office="新镇司法所")
    cases.stored_path(files[0].sha256).unlink()
    Attachment.delete().where(Attachment.id == files[1].id).execute()
    assert every_row() != before

    restored = backup.restore(path)

    assert restored["applied"] == []
    after = every_row()
    for name in before:
        assert after[name] == before[name], f"table {name} differs after the restore"
    for attachment in files:
        assert cases.stored_path(attachment.sha256).read_bytes() in (PNG, PDF)


@pytest.mark.skipif(os.environ.get("JIEDUI_TEST_DATABASE_URL") is not None,
                    reason="SQLite: connections opened before the restore")
def test_a_connection_open_during_the_restore_sees_the_restored_data(small_backup):
    other = sqlite3.connect(db.obj.database)  # as the web server's would be
    assert other.execute("SELECT count(*) FROM town").fetchone() == (2,)
    Town.create(district=District.get(), code="NEW", name="新镇", judicial_office="")
    assert other.execute("SELECT count(*) FROM town").fetchone() == (3,)
    backup.restore(small_backup)
    assert other.execute("SELECT count(*) FROM town").fetchone() == (2,)
    other.close()


def test_a_backup_taken_while_another_thread_writes_is_consistent(district, tmp_path):
    stop, written = threading.Event(), []

    def keep_writing():  # its own connection, one committed row at a time
        try:
            while not stop.is_set():
                n = len(written)
                Town.create(district=district.district, code=f"W{n}", name=f"写{n}镇",
                            judicial_office="")
                written.append(n)
        finally:
            db.close()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        while len(written) < 20:
            threading.Event().wait(0.01)
        path = tmp_path / "busy.tar.gz"
        manifest = backup.backup(path)
        while len(written) < manifest["tables"]["town"] + 20:  # it went on writing after
            threading.Event().wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert 2 + 20 <= manifest["tables"]["town"] < 2 + len(written)
    assert backup.inspect_archive(path) == manifest  # integrity check and counts agree
    backup.restore(path)
    assert Town.select().count() == manifest["tables"]["town"]
    codes = {town.code for town in Town.select()}
    assert codes == {"T1", "T2"} | {f"W{n}" for n in range(manifest["tables"]["town"] - 2)}


@pytest.mark.parametrize("damage, message", [
    ("truncated", "is not a Jiedui backup or is damaged"),
    ("not_an_archive", "is not a Jiedui backup or is damaged"),
    ("other_dialect", "database and this installation uses"),
    ("newer_schema", "comes from a newer version of Jiedui (schema 9999_from_the_future)"),
    ("other_format_version", "this version of Jiedui reads version 1"),
    ("rows_missing", "does not hold the rows its manifest lists"),
])
def test_a_bad_archive_is_refused_and_nothing_changes(small_backup, tmp_path, damage,
                                                      message):
    if damage == "rows_missing" and not is_sqlite():
        pytest.skip("PostgreSQL dumps are checked by pg_restore --list, not by counting")
    bad = tmp_path / "bad.tar.gz"
    manifest = json.loads(tarfile.open(small_backup).extractfile(backup.MANIFEST).read())
    if damage == "truncated":
        bad.write_bytes(small_backup.read_bytes()[:-200])
    elif damage == "not_an_archive":
        bad.write_text("village,lawyer\n")
    elif damage == "other_dialect":
        rewrite_manifest(small_backup, bad,
                         dialect="postgresql" if is_sqlite() else "sqlite")
    elif damage == "newer_schema":
        rewrite_manifest(small_backup, bad,
                         migrations=manifest["migrations"] + ["9999_from_the_future"])
    elif damage == "other_format_version":
        rewrite_manifest(small_backup, bad, version=2)
    else:
        rewrite_manifest(small_backup, bad, tables={**manifest["tables"], "town": 7})
    Town.create(district=District.get(), code="NEW", name="新镇", judicial_office="")
    cases.stored_path(Attachment.get().sha256).unlink()
    uploads = sorted(p for p in cases.uploads_dir().rglob("*") if p.is_file())
    before = every_row()

    with pytest.raises(backup.BackupError) as refused:
        backup.restore(bad)

    assert message in str(refused.value)
    assert every_row() == before
    assert sorted(p for p in cases.uploads_dir().rglob("*") if p.is_file()) == uploads


def test_an_archive_from_an_older_schema_is_migrated_after_the_restore(database, tmp_path):
    """A backup made by an older version (its schema lacks the newest migration) is
    restored, then brought up to date."""
    if not is_sqlite():
        pytest.skip("the older database is built in a scratch SQLite file")
    from playhouse.migrations import Runner

    from core.db import MIGRATIONS_DIR, open_database
    current = db.obj.database
    newest = max(backup.known_migrations())
    older_names = sorted(backup.known_migrations() - {newest})
    open_database(f"sqlite:///{tmp_path / 'older.db'}")
    Runner(db.obj, directory=str(MIGRATIONS_DIR)).up(target=older_names[-1])
    District.create(code="310000", name="旧区")
    older = tmp_path / "older.tar.gz"
    assert backup.backup(older)["migrations"] == older_names
    db.close()
    open_database(f"sqlite:///{current}")

    restored = backup.restore(older)

    assert restored["applied"] == [newest]
    assert [d.name for d in District.select()] == ["旧区"]
    assert backup.backup(tmp_path / "again.tar.gz")["migrations"] == sorted(
        backup.known_migrations())


@pytest.mark.slow  # the commands in their own processes, on a demo district
@pytest.mark.skipif(os.environ.get("JIEDUI_TEST_DATABASE_URL") is not None,
                    reason="the CLI runs on its own SQLite instance: once is enough")
def test_the_cli_backs_up_and_restores_after_asking(tmp_path):
    instance = tmp_path / "cli"

    def run(*args, stdin=""):  # in the default language, zh_CN
        return run_jiedui(instance, *args, locale=None, stdin=stdin)

    def users():
        with sqlite3.connect(instance / "jiedui.db") as connection:
            return [name for (name,) in connection.execute('SELECT username FROM "user"')]

    assert run("init").returncode == 0
    assert run("user", "add", "--username", "first", "--password", "qingxi-office-7",
               "--role", "admin").returncode == 0
    made = run("backup", str(tmp_path / "b.tar.gz"))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"备份已写入 {tmp_path / 'b.tar.gz'}：sqlite 数据库，")
    assert made.stdout.strip().endswith("行数据，0 个附件。")
    assert run("user", "add", "--username", "second", "--password", "yongfeng-desk-9",
               "--role", "admin").returncode == 0

    declined = run("restore", str(tmp_path / "b.tar.gz"), stdin="n\n")
    assert declined.returncode == 1
    assert "中的全部数据？ [y/N]" in declined.stdout and "确定用 " in declined.stdout
    assert str(instance / "jiedui.db") in declined.stdout
    assert users() == ["first", "second"]
    refused = run("restore", str(tmp_path / "missing.tar.gz"), "--yes")
    assert refused.returncode == 1 and "missing.tar.gz 不存在。" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = run("restore", str(tmp_path / "b.tar.gz"), "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("已恢复 ") and done.stdout.strip().endswith("0 个附件。")
    assert users() == ["first"]
