"""Jiedui's domain: models, services, plugins and jobs. Imports nothing from web or plugins."""
from core.hookspecs import hookimpl

__all__ = ["hookimpl"]
