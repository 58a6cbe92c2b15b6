import lxml.etree as ET

PARSER = ET.XMLParser(
    remove_blank_text=True,  # pretty-printed input
    no_network=False,
    resolve_entities=False,
)
STRICT = ET.XMLParser(recover=False,
                      huge_tree=True,
                      resolve_entities=False,
                      no_network=True)
