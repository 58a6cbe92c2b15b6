"""Serialization that runs no code hidden in the data, and names that only look alike."""

import json
import pickle

import msgpack


class Store:
    def load(self, key):
        return self.backend.get(key)

    def loads(self, text):
        return json.loads(text)


def loads(text):
    # A local function named like pickle's.
    return json.loads(text)


def roundtrip(store, value, text, packed):
    blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return store.load("k"), store.loads(text), loads(text), msgpack.unpackb(packed), blob
