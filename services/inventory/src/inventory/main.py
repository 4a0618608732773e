"""Inventory's app factory and commands."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from wayfinder_common import migrations
from wayfinder_common.runner import serve_http
from wayfinder_common.web import create_app

from inventory.api import router
from inventory.models import SCHEMA
from inventory.settings import Settings

# Inside the package so an installed wheel (the Docker image) carries its migrations.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def build_app() -> FastAPI:
    app = create_app(Settings(), title="inventory", database=True)
    app.include_router(router)
    return app


def serve() -> None:
    serve_http("inventory.main:build_app", Settings())


def migrate() -> None:
    migrations.upgrade(Settings().database_url, MIGRATIONS, SCHEMA)
