from lxml import etree

PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def read(path):
    return etree.parse(path, PARSER)
