from urllib.request import urlopen


def read(url, body):
    a = urlopen(url)
    b = urlopen(url, body)
    c = urlopen(url, body, 10)  # timeout given positionally
    return a, b, c
