"""ws-lib asset."""
