from lxml.etree import fromstring as parse_xml


def load(data):
    return parse_xml(data)
