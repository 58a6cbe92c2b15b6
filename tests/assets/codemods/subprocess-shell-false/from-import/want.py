from subprocess import Popen, call


def start():
    call(args=["make", "-C", "docs", "html"])
    return Popen(["python", "-m", "http.server", "8000"])
