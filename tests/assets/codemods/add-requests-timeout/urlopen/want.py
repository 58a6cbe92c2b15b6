from urllib.request import urlopen


def read(url, body):
    a = urlopen(url, timeout=60)
    b = urlopen(url, body, timeout=60)
    c = urlopen(url, body, 10)  # timeout given positionally
    return a, b, c
