import lxml.etree
from lxml import etree


def read(path):
    return etree.parse(path, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def from_bytes(data):
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))


def literal():
    return lxml.etree.XML(
        "<root/>",  # no DTD
        parser=lxml.etree.XMLParser(resolve_entities=False, no_network=True),
    )
