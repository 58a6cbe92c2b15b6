from subprocess import Popen, call


def start():
    call(args="make -C docs html", shell=True)
    return Popen("python -m http.server 8000", shell=True)
