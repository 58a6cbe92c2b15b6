from lxml import etree


def load(data):
    return etree.fromstring(data)
