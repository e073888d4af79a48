"""Engine, sessions and migrations. SQLite is the default; PostgreSQL works the same.

The schema is made and changed only by Alembic migrations (`storage/migrations/`): `migrate()` runs them to
head at start, which is what `alembic upgrade head` does by hand. A database already at `HEAD` is only
checked (one query, without loading Alembic: every command starts this way); an upgrade says so in one log
line, instead of Alembic's own INFO lines.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration (tests/test_storage.py checks it against Alembic's head).
HEAD = "0004"


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (the tables store aware datetimes and return them in UTC)."""
    return dt.datetime.now(dt.UTC)


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite gets foreign keys on and a busy timeout, so a CLI command and the service
    can share the file."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def schema_version(connection: Connection) -> str | None:
    """The migration the database is at; None for a database without the schema."""
    try:
        with connection.begin_nested():
            row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except DBAPIError:
        return None
    return str(row[0]) if row else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    with engine.connect() as connection:
        current = schema_version(connection)
    if current == HEAD:
        return
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines say nothing an operator needs
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        after = schema_version(connection)
    if after != current:
        log.info("database schema %s: %s", "created" if current is None else f"upgraded from {current}",
                 f"now at {after}" if current is not None else f"at {after}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
