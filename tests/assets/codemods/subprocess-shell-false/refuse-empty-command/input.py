import subprocess


def run():
    subprocess.run("  ", shell=True)
