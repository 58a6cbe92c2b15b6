from lxml import etree

VALIDATING = etree.XMLParser(dtd_validation=True)
