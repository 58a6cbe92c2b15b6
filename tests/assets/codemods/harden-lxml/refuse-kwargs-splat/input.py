from lxml import etree


def parser(**options):
    return etree.XMLParser(**options)
