import subprocess


def run():
    subprocess.run("cd /tmp", shell=True)
    subprocess.run("source env.sh", shell=True)
    subprocess.run("ulimit -n 4096", shell=True)
