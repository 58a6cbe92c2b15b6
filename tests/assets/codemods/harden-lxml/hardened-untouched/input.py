from lxml import etree

SAFE = etree.XMLParser(resolve_entities=False)
INTERNAL = etree.XMLParser(resolve_entities="internal", no_network=True)


def load(data):
    return etree.fromstring(data, SAFE)


def load_named(data):
    return etree.fromstring(data, parser=INTERNAL)
