import os
from tempfile import mktemp as temp_name


def export(image):
    out = temp_name(suffix=".png")
    image.save(out)
    return os.path.basename(out)
