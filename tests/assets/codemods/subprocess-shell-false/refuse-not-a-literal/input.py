import subprocess


def run(name):
    subprocess.run(f"ls {name}", shell=True)
    cmd = "ls -l"
    subprocess.run(cmd, shell=True)
