"""Errors the sync use cases raise to the person who asked for an action."""

from __future__ import annotations


class ActionRefused(Exception):
    """The merchant's action (resend, handle manually, disconnect) cannot be done now: the
    message is one line, written for the admin UI."""
