from lxml import etree


def load(*args):
    return etree.fromstring(*args)
