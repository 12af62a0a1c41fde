"""ASGI entry point. HTTP is served by gunicorn (WSGI); this process is for websockets,
which later issues add (live chat, live queues)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kapula.settings")
application = get_asgi_application()
