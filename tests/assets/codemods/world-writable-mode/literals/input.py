"""Prepare the upload and cache directories."""

import os

UPLOADS = "/srv/app/uploads"


def prepare(cache_dir: str, log_path: str) -> int:
    os.makedirs(UPLOADS, mode=0o777, exist_ok=True)
    os.mkdir(cache_dir, 0o0777)
    os.chmod(UPLOADS, 0o777)  # let the worker write
    os.chmod(log_path, 0o666)
    os.chmod(
        log_path,
        438,
    )
    os.chmod(cache_dir, 0x1FF)
    return os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
