from lxml import etree

PARSER = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)


def load(data):
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
