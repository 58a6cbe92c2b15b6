import subprocess as sp


def status():
    return sp.check_output(['git', 'status', '--short'], text=True)
