from lxml import etree


def parser(settings):
    return etree.XMLParser(load_dtd=settings.XML_LOAD_DTD)
