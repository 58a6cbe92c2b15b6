import os as _os
import tempfile as tf


def snapshot(db):
    path = tf.mktemp(prefix="snap-")
    db.backup(path)
    return _os.path.getsize(path)
