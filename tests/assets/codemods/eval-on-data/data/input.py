"""A calculator endpoint and a plugin loader that run code built from their input."""

import os


def calculate(request):
    expression = request.args["expr"]
    return {"result": eval(expression)}


def sort_key(spec):
    return eval(f"lambda row: row[{spec!r}]")


def threshold():
    return eval(os.environ.get("THRESHOLD", "10") + " * 2")


def load_plugin(path):
    with open(path) as fh:
        source = fh.read()
    namespace = {}
    exec(source, namespace)
    return namespace


def restricted(formula, values):
    # Emptying __builtins__ is a common attempt at a sandbox.
    return eval(formula, {"__builtins__": {}}, values)


def run_hook(code_object):
    exec(
        code_object,
        globals(),
    )


def splatted(args):
    return eval(*args)
