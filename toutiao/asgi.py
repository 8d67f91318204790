"""ASGI entry point for production servers: ``uvicorn toutiao.asgi:app`` / gunicorn."""

from toutiao.main import create_app

app = create_app()
