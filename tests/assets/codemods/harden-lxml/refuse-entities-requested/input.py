from lxml import etree

EXPANDING = etree.XMLParser(resolve_entities=True)
