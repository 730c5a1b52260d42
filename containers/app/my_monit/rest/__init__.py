"""The REST API: RestListener's Flask app, its resources, sign-in and the gunicorn server."""

from my_monit.rest.configuration import RestConfiguration

__all__ = ["RestConfiguration"]
