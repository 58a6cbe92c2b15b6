import subprocess


def run(**opts):
    subprocess.run("ls -l", shell=True, **opts)
