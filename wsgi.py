from app import create_app
from app.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # a clear line for the operator, not a traceback
    raise SystemExit(f"Configuration error: {error}") from None
