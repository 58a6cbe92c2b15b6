import os
from tempfile import mkstemp


def export(image):
    fd, out = mkstemp(suffix=".png")
    os.close(fd)
    image.save(out)
    return os.path.basename(out)
