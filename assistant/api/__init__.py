"""The HTTP front door of 政务助手: ``create_app(settings)`` builds the FastAPI application."""

from .app import create_app

__all__ = ["create_app"]
