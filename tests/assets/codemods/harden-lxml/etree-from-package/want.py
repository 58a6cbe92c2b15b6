from lxml import etree
from lxml.etree import fromstring


def load(data):
    return fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def serialise(root):
    return etree.tostring(root)
