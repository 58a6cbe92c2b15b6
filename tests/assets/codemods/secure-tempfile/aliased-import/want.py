import os as _os
import tempfile as tf


def snapshot(db):
    fd, path = tf.mkstemp(prefix="snap-")
    _os.close(fd)
    db.backup(path)
    return _os.path.getsize(path)
