"""A job queue that keeps its state in several serialized formats."""

import dill
import jsonpickle
import marshal
import pandas
import pickle
import shelve


def load_job(path):
    with open(path, "rb") as fh:
        return pickle.load(fh)


def job_from_message(body):
    return pickle.loads(body)


def job_from_stream(stream):
    return pickle.Unpickler(stream).load()


def cached_results(name):
    with shelve.open(name) as db:
        return dict(db)


def compiled_hook(blob):
    return marshal.loads(blob)


def hook_from_file(fh):
    return marshal.load(fh)


def restore_session(text):
    return jsonpickle.decode(text)


def restore_closure(data):
    return dill.loads(data)


def frame_from_upload(upload):
    return pandas.read_pickle(upload)


def save_job(job, path):
    # Writing is not the risk: only loads are reported.
    with open(path, "wb") as fh:
        pickle.dump(job, fh)
    return pickle.dumps(job), marshal.dumps(1), jsonpickle.encode(job), dill.dumps(job)
