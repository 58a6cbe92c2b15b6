"""Helper package used by the uv-app asset."""
