"""notify: render templated messages and deliver them to webhooks."""

__version__ = "1.4.0"
