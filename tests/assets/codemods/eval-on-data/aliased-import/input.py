import builtins
import builtins as bi
from builtins import eval as evaluate
from builtins import exec as execute


def run(text, code):
    first = builtins.eval(text)
    second = evaluate(text)
    execute(code)
    builtins.exec(code)
    third = bi.eval(text)
    return first, second, third
