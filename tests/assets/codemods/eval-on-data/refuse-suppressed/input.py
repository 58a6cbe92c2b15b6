def build_accessor(field):
    # `field` is checked against the model's field names before this is called.
    return eval(f"lambda obj: obj.{field}")  # nosec B307


def compile_template(code):
    exec(code)  # noqa: S102


def other(code):
    exec(code)  # noqa: E501
