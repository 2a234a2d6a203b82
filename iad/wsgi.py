"""The web app for a WSGI server started by name (`iad serve --workers N` runs gunicorn on
"iad.wsgi:app"): each worker process builds its own app from the environment."""

from core.config import get_settings
from iad.app import create_app

app = create_app(get_settings())
