from lxml.etree import XMLParser, fromstring as parse_xml


def load(data):
    return parse_xml(data, parser=XMLParser(resolve_entities=False, no_network=True))
