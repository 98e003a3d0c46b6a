"""The web studio: ``creative-rnn serve RUN…`` or ``create_app([...])`` for your own server."""

from .app import create_app
from .guard import Limits

__all__ = ["create_app", "Limits"]
