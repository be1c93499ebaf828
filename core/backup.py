"""Backup and restore: one .tar.gz with the database, the case files' attachments and a
manifest (``jiedui backup PATH`` / ``jiedui restore PATH``).

The archive::

    manifest.json      format, version, dialect, created_at, migrations, rows per table
    database.sqlite3   SQLite: a copy made with SQLite's online backup API
    database.pgdump    PostgreSQL: ``pg_dump -Fc`` (custom format)
    uploads/aa/<sha256>  every attachment file (content-addressed, see core.cases)

Both copies are consistent while the service keeps writing: SQLite's backup API copies
one read snapshot; on PostgreSQL the rows are counted in a snapshot that ``pg_dump`` then
dumps (``--snapshot``). Attachments are copied after the database: a file is stored
before its row is committed, so every attachment the copy names is in the archive.

Restore checks everything before it changes anything: the archive reads to the end, the
manifest is ours, of this database's dialect and of a schema this version knows; the
database copy is sound (integrity check / ``pg_restore --list``) and holds the rows the
manifest counts. Only then: attachments are put back (added, never deleted), then the
database is replaced (SQLite: the backup API into the live file, so open connections see
the restored data; PostgreSQL: ``pg_restore --clean --if-exists --single-transaction``),
then migrated when the archive is from an older schema.
"""
import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from pathlib import Path

from playhouse.postgres_ext import Psycopg3Database

from core.db import MIGRATIONS_DIR, close_quietly, db, is_sqlite, migrate
from core.errors import ValidationError
from core.i18n import N_
from core.cases import uploads_dir
from core.config import get_settings

FORMAT = "jiedui-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
UPLOADS = "uploads"
MIGRATIONS_TABLE = "schema_migration"  # playhouse.migrations.Runner's history


class BackupError(ValidationError):
    """The backup or the restore cannot be done; nothing was changed."""


# --- shared ----------------------------------------------------------------------------------

def known_migrations() -> set[str]:
    return {path.stem for path in MIGRATIONS_DIR.glob("[0-9]*.py")}


def _dialect() -> str:
    return "sqlite" if is_sqlite() else "postgresql"


def _uploads_dir() -> Path:
    return uploads_dir()


def _sqlite_path() -> Path:
    return Path(db.obj.database)


def _sqlite_facts(connection: sqlite3.Connection) -> tuple[dict[str, int], list[str]]:
    """Rows per table and the migrations applied, read from one connection (one snapshot)."""
    tables = [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    counts = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
              for name in tables}
    migrations = []
    if MIGRATIONS_TABLE in counts:
        migrations = [name for (name,) in connection.execute(
            f'SELECT name FROM "{MIGRATIONS_TABLE}" ORDER BY name')]
    return counts, migrations


# --- PostgreSQL: the client programs -------------------------------------------------------

def _pg_program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(N_("%(program)s was not found on PATH: install the PostgreSQL "
                             "client programs (e.g. apt install postgresql-client)."),
                          program=name)
    return path


def _pg_environment() -> dict:
    """libpq settings of the open database, the password in PGPASSWORD (never on the
    command line, where every user of the machine could read it)."""
    params = db.obj.connect_params
    env = dict(os.environ, PGDATABASE=db.obj.database)
    for key, variable in (("host", "PGHOST"), ("port", "PGPORT"), ("user", "PGUSER"),
                          ("password", "PGPASSWORD")):
        if params.get(key) not in (None, ""):
            env[variable] = str(params[key])
    return env


def _run_pg(args: list[str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=_pg_environment(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(N_("%(what)s failed: %(error)s"), what=what,
                          error=(done.stderr.strip() or f"exit status {done.returncode}"))
    return done


def _pg_connection():
    """A connection of our own (never one of a pool's), with the driver the database uses."""
    params = {k: v for k, v in db.obj.connect_params.items()
              if k in ("host", "port", "user", "password")}
    # the drivers are optional: only the one the URL names is installed and imported
    if isinstance(db.obj, Psycopg3Database):
        import psycopg
        return psycopg.connect(dbname=db.obj.database, **params)
    import psycopg2
    return psycopg2.connect(dbname=db.obj.database, **params)


def _pg_counts(cursor) -> tuple[dict[str, int], list[str]]:
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                   "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")
    tables = [name for (name,) in cursor.fetchall()]
    counts = {}
    for name in tables:
        cursor.execute(f'SELECT count(*) FROM "{name}"')
        counts[name] = cursor.fetchone()[0]
    migrations = []
    if MIGRATIONS_TABLE in counts:
        cursor.execute(f'SELECT name FROM "{MIGRATIONS_TABLE}" ORDER BY name')
        migrations = [name for (name,) in cursor.fetchall()]
    return counts, migrations


# --- backup ----------------------------------------------------------------------------------

def _copy_sqlite(target: Path) -> tuple[dict, list]:
    """One read snapshot of the live file into ``target`` (writers carry on meanwhile)."""
    source = sqlite3.connect(_sqlite_path(), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one snapshot
        return _sqlite_facts(copy)
    finally:
        copy.close()
        source.close()


def _dump_postgres(target: Path) -> tuple[dict, list]:
    """Count the rows in a snapshot and have pg_dump dump that same snapshot."""
    pg_dump = _pg_program("pg_dump")
    connection = _pg_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            counts, migrations = _pg_counts(cursor)
            _run_pg([pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                     f"--snapshot={snapshot}", f"--file={target}"], "pg_dump")
        connection.rollback()
    finally:
        connection.close()
    return counts, migrations


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(dt.datetime.now(dt.timezone.utc).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))


def backup(path) -> dict:
    """Write the archive to ``path`` (replaced only once complete); returns the manifest."""
    path = Path(path)
    dialect = _dialect()
    with tempfile.TemporaryDirectory(prefix="jiedui-backup-") as work:
        database_name = SQLITE_FILE if dialect == "sqlite" else PG_FILE
        database_copy = Path(work) / database_name
        if dialect == "sqlite":
            counts, migrations = _copy_sqlite(database_copy)
        else:
            counts, migrations = _dump_postgres(database_copy)
        uploads = _uploads_dir()
        files = sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.is_dir() else []
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "dialect": dialect,
                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "database": database_name, "migrations": migrations, "tables": counts,
                    "attachments": len(files)}
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            archive.add(database_copy, arcname=database_name)
            for file in files:
                archive.add(file, arcname=f"{UPLOADS}/{file.relative_to(uploads).as_posix()}")
        os.chmod(partial, 0o600)  # the whole district's data, personal data included
        partial.replace(path)
    return manifest


# --- restore ---------------------------------------------------------------------------------

def _damaged(path) -> BackupError:
    return BackupError(N_("%(path)s is not a Jiedui backup or is damaged; nothing was "
                          "changed."), path=str(path))


def _extract(path: Path, into: Path) -> dict:
    """Read the whole archive (gzip checks every byte) into ``into``; return the manifest."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(into, filter="data")  # no absolute paths, no links out
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise _damaged(path) from error
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise _damaged(path) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged(path)
    return manifest


def check_manifest(manifest: dict) -> None:
    """Refuse an archive this installation cannot restore, before anything changes."""
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(N_("This backup has format version %(version)s; this version of "
                             "Jiedui reads version %(known)s. Nothing was changed."),
                          version=manifest.get("version"), known=FORMAT_VERSION)
    if manifest.get("dialect") != _dialect():
        raise BackupError(N_("This backup is of a %(archive)s database and this installation "
                             "uses %(current)s; nothing was changed."),
                          archive=manifest.get("dialect"), current=_dialect())
    unknown = sorted(set(manifest.get("migrations") or []) - known_migrations())
    if unknown:
        raise BackupError(N_("This backup comes from a newer version of Jiedui (schema "
                             "%(names)s); upgrade Jiedui first. Nothing was changed."),
                          names=", ".join(unknown))


def _check_sqlite_copy(copy: Path, manifest: dict) -> None:
    connection = sqlite3.connect(copy)
    try:
        (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
        counts, _migrations = _sqlite_facts(connection)
    except sqlite3.DatabaseError as error:
        raise BackupError(N_("The database in this backup is damaged (%(error)s); nothing "
                             "was changed."), error=str(error)) from error
    finally:
        connection.close()
    if verdict != "ok":
        raise BackupError(N_("The database in this backup is damaged (%(error)s); nothing "
                             "was changed."), error=verdict)
    _check_counts(counts, manifest)


def _check_counts(counts: dict, manifest: dict) -> None:
    if counts != manifest.get("tables"):
        raise BackupError(N_("The database in this backup does not hold the rows its "
                             "manifest lists; nothing was changed."))


def _check_pg_copy(copy: Path) -> None:
    _run_pg([_pg_program("pg_restore"), "--list", str(copy)], "pg_restore --list")


def _put_back_uploads(extracted: Path) -> int:
    """Copy the archive's attachments into the instance folder (each by a rename, so no
    half-written file is ever served). Files uploaded since stay: nothing refers to them."""
    source = extracted / UPLOADS
    if not source.is_dir():
        return 0
    target = _uploads_dir()
    count = 0
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / file.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary = destination.with_name(destination.name + ".restoring")
        shutil.copyfile(file, temporary)
        temporary.replace(destination)
        count += 1
    return count


def _restore_sqlite(copy: Path) -> None:
    """Write the copy into the live file with the backup API: one write transaction, so
    the service's open connections see the old data or the restored, never a mix."""
    source = sqlite3.connect(copy)
    live = sqlite3.connect(_sqlite_path(), timeout=max(get_settings().db_busy_timeout_ms, 1000) / 1000)
    try:
        source.backup(live)
    finally:
        live.close()
        source.close()


def _restore_postgres(copy: Path) -> None:
    _run_pg([_pg_program("pg_restore"), "--clean", "--if-exists", "--no-owner",
             "--no-privileges", "--single-transaction", "--exit-on-error",
             f"--dbname={db.obj.database}", str(copy)], "pg_restore")


@contextmanager
def _connection_released():
    """Our own connection must not hold locks the restore needs; reopen it after."""
    close_quietly()
    try:
        yield
    finally:
        db.connect(reuse_if_open=True)


def inspect_archive(path) -> dict:
    """The manifest of a sound archive this installation can restore (nothing changes)."""
    with tempfile.TemporaryDirectory(prefix="jiedui-restore-") as work:
        return _checked(Path(path), Path(work))


def _checked(path: Path, work: Path) -> dict:
    if not path.is_file():
        raise BackupError(N_("%(path)s does not exist."), path=str(path))
    manifest = _extract(path, work)
    check_manifest(manifest)
    copy = work / (SQLITE_FILE if manifest["dialect"] == "sqlite" else PG_FILE)
    if not copy.is_file():
        raise _damaged(path)
    if manifest["dialect"] == "sqlite":
        _check_sqlite_copy(copy, manifest)
    else:
        _check_pg_copy(copy)
    return manifest


def restore(path) -> dict:
    """Replace the database and put back the attachments from the archive at ``path``.
    Everything is checked first; a refused archive changes nothing. Returns the manifest
    with ``applied``: the migrations run to bring an older backup up to date."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="jiedui-restore-") as work:
        work = Path(work)
        manifest = _checked(path, work)
        copy = work / (SQLITE_FILE if manifest["dialect"] == "sqlite" else PG_FILE)
        _put_back_uploads(work)
        with _connection_released():
            if manifest["dialect"] == "sqlite":
                _restore_sqlite(copy)
            else:
                _restore_postgres(copy)
        applied = migrate()
    return {**manifest, "applied": applied}
