"""Render reports to PDF."""

import os
import subprocess
import tempfile


def render(source: str) -> bytes:
    # wkhtmltopdf writes its output to a path we give it.
    target = tempfile.mktemp(suffix=".pdf", prefix="report-")  # output file
    subprocess.run(["wkhtmltopdf", source, target], check=True)
    with open(target, "rb") as pdf:
        data = pdf.read()
    os.unlink(target)
    return data


SCRATCH = tempfile.mktemp()
