"""The databases a benchmark runs on: a SQLite file, and a throwaway PostgreSQL database
beside the one in TEST_DATABASE_URL when that is set."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg

Database = Callable[[], AbstractAsyncContextManager[str]]


@contextlib.asynccontextmanager
async def sqlite() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="frontdesk-bench-") as scratch:
        yield f"sqlite:///{Path(scratch) / 'frontdesk.db'}"


@contextlib.asynccontextmanager
async def postgres(admin_url: str) -> AsyncIterator[str]:
    """A new database on the server of `admin_url`, dropped afterwards."""
    admin_url = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"frontdesk_bench_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def backends() -> list[tuple[str, Database]]:
    """SQLite, and PostgreSQL when TEST_DATABASE_URL is set."""
    found: list[tuple[str, Database]] = [("SQLite", sqlite)]
    if admin := os.environ.get("TEST_DATABASE_URL"):
        found.append(("PostgreSQL", lambda: postgres(admin)))
    return found
