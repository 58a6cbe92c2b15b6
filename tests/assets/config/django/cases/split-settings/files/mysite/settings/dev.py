from .base import *  # noqa: F403

DEBUG = True
SESSION_COOKIE_SECURE = False
