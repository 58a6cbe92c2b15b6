import _pickle
import cPickle
import pickle as p
from dill import load as dill_load
from jsonpickle import loads as jp_loads
from pandas import read_pickle
from pickle import Unpickler, loads
from pickle import loads as unpickle
from shelve import DbfilenameShelf

import pandas as pd


def read_all(blob, fh, text, path):
    first = p.loads(blob)
    second = loads(blob)
    third = unpickle(blob)
    fourth = Unpickler(fh).load()
    fifth = _pickle.loads(blob)
    sixth = cPickle.loads(blob)
    seventh = dill_load(fh)
    eighth = jp_loads(text)
    ninth = pd.read_pickle(path)
    tenth = read_pickle(
        path,
        compression="gzip",
    )
    shelf = DbfilenameShelf(path)
    return first, second, third, fourth, fifth, sixth, seventh, eighth, ninth, tenth, shelf
