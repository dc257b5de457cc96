"""Skitai preferences: one definition (``settings``), resolved from code, environment and command line."""

from .cpus import available_cpus, effective_workers
from .prefs import EXIT_CONFIG, ConfigError, Preferences, describe, resolve
from .settings import SETTINGS, Setting

__all__ = [
    "EXIT_CONFIG", "SETTINGS", "ConfigError", "Preferences", "Setting", "available_cpus", "describe",
    "effective_workers", "resolve",
]
