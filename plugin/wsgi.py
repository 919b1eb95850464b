"""WSGI entry point for gunicorn: `gunicorn 'plugin.wsgi:app'`."""

from plugin.web import create_app

app = create_app()
