from lxml import etree
from lxml.etree import fromstring


def load(data):
    return fromstring(data)


def serialise(root):
    return etree.tostring(root)
