"""Skitai app engine (public API lives here)."""
