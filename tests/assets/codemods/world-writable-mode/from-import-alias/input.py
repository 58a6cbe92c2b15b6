from os import chmod as set_mode
from os import makedirs as make_tree
from stat import S_IRWXG, S_IRWXO, S_IRWXU


def open_up(path, tree):
    make_tree(tree, 0o777)
    set_mode(path, S_IRWXU | S_IRWXG | S_IRWXO)
