from lxml import etree


def assemble(path):
    tree = etree.parse(path)
    tree.xinclude()
    return tree
