"""Background jobs. Every job is idempotent: running it twice leaves the same result."""
from core.queue import huey


@huey.task()
def ping(value: str = "pong") -> str:
    """A no-op job to check that a consumer is running (``jiedui worker --check``)."""
    return value
