from lxml import etree

PARSER = etree.XMLParser(remove_comments=True)


def load(data):
    return etree.fromstring(data)
