"""Prepare the upload and cache directories."""

import os

UPLOADS = "/srv/app/uploads"


def prepare(cache_dir: str, log_path: str) -> int:
    os.makedirs(UPLOADS, mode=0o775, exist_ok=True)
    os.mkdir(cache_dir, 0o0775)
    os.chmod(UPLOADS, 0o775)  # let the worker write
    os.chmod(log_path, 0o664)
    os.chmod(
        log_path,
        436,
    )
    os.chmod(cache_dir, 0x1FD)
    return os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o664)
