import subprocess as sp


def status():
    return sp.check_output('git status --short', shell=True, text=True)
