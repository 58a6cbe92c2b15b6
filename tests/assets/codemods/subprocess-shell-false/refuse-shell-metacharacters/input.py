import subprocess


def run():
    subprocess.run("ls *.py", shell=True)
    subprocess.run("echo $HOME > out.txt", shell=True)
    subprocess.run("FOO=1 make", shell=True)
