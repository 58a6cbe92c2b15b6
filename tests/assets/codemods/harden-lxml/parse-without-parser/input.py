import lxml.etree
from lxml import etree


def read(path):
    return etree.parse(path)


def from_bytes(data):
    return etree.fromstring(data, parser=None)


def literal():
    return lxml.etree.XML(
        "<root/>",  # no DTD
    )
