"""Fixtures of the site's tests: the world (tests/web/world.py) on SQLite and on PostgreSQL, and an in-process
client (httpx over ASGI) of the site on it, with the clock at `world.NOW` and no response cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.web.app import SiteConfig, create_app
from matchers.catalog import Catalog, load_catalog
from storage.db import make_engine
from tests.web.procs import site_env
from tests.web.world import NOW, World, build

BASE = "http://wetwacht.test"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def world(db_url: str, catalog: Catalog) -> World:
    return build(db_url, catalog)


@pytest.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    engine = make_engine(world.url)
    app = create_app(engine, world.catalog, clock=lambda: NOW, config=SiteConfig(cache_seconds=0))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c
    app.state.site.close()
    engine.dispose()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a real `wetwacht` process (tests/web/procs.py)."""
    return site_env(tmp_path)
