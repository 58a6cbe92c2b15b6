import subprocess


def build():
    subprocess.check_call(
        ["make", "all"],  # top-level target
    )
