import shutil
import tarfile as tf


def unpack(path, dest, name):
    archive = tf.open(path, "r:gz")
    archive.extract(name, dest, filter="data")
    archive.close()
    shutil.unpack_archive(path, dest, filter="data")
