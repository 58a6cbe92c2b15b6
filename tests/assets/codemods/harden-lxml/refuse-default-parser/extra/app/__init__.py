from lxml import etree

etree.set_default_parser(etree.XMLParser(remove_blank_text=True, resolve_entities=False))
