import subprocess


def run():
    subprocess.run("ls -l", shell=True, executable="/bin/bash")
