"""ws-root asset."""
