import subprocess

import requests


def ping(url):
    return requests.get(url)


def disk():
    return subprocess.check_output("df -h", shell=True)
