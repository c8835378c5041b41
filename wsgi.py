"""Entry points: `gunicorn wsgi:app` (web), `celery --app wsgi:celery_app worker` / `beat`."""

from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # a clear line for the operator, not a traceback
    raise SystemExit(f"Configuration error: {error}") from None

celery_app = app.extensions["celery"]
