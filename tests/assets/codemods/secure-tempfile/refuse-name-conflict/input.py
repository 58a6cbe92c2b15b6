import platform
import tempfile

os = platform.system()  # "Linux", "Darwin" or "Windows": picks the report's line endings


def report_path():
    path = tempfile.mktemp(suffix=".txt")
    return path
