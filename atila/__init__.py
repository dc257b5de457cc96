"""Atila web framework."""
