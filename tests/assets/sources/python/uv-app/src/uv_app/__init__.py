"""uv-app asset."""
