"""The web app behind `fashiongan serve`: FastAPI over the library, one static page, shipped weights only."""

from fashiongan.serve.app import create_app

__all__ = ["create_app"]
