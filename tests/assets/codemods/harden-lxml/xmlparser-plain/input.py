from lxml import etree

PARSER = etree.XMLParser()


def read(path):
    return etree.parse(path, PARSER)
