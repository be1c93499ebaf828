"""Settings from the environment (prefix ``JIEDUI_``), with defaults for one machine.

Nothing here needs a running service: the defaults put the database, the job
queue and the secret key in the instance folder.
"""
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    queue_url: str
    timezone: str
    base_url: str
    secret_key: str
    locale: str
    load_plugins: tuple[str, ...] | None  # None: every installed plugin

    @property
    def queue_is_redis(self):
        return self.queue_url.startswith(("redis://", "rediss://", "unix://"))


def _secret_key(instance: Path) -> str:
    """The key signs sessions, so it must survive restarts: keep it in the instance folder."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.write_text(secrets.token_hex(32))
    path.chmod(0o600)
    return path.read_text().strip()


def _plugin_list(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(name.strip() for name in value.split(",") if name.strip())


def load_settings(environ=None) -> Settings:
    env = os.environ if environ is None else environ
    instance = Path(env.get("JIEDUI_INSTANCE", "instance")).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    return Settings(
        instance=instance,
        database_url=env.get("JIEDUI_DATABASE_URL") or f"sqlite:///{instance / 'jiedui.db'}",
        queue_url=env.get("JIEDUI_QUEUE_URL") or f"sqlite:///{instance / 'queue.db'}",
        timezone=env.get("JIEDUI_TIMEZONE", "Asia/Shanghai"),
        base_url=env.get("JIEDUI_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        secret_key=env.get("JIEDUI_SECRET_KEY") or _secret_key(instance),
        locale=env.get("JIEDUI_LOCALE", "zh_CN"),
        load_plugins=_plugin_list(env.get("JIEDUI_LOAD_PLUGINS")),
    )
