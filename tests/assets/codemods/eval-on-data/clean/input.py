"""No builtin eval or exec: methods, a shadowing function and strings that mention them."""

import ast
import sqlite3


def evaluate_model(model, batch):
    model.eval()
    return model(batch)


def run_query(db: sqlite3.Connection, name):
    cursor = db.cursor()
    cursor.execute("SELECT eval FROM jobs WHERE name = ?", (name,))
    return cursor.fetchall()


def parse(text):
    return ast.literal_eval(text)


class Engine:
    def exec(self, statement):
        return statement

    def run(self, statement):
        return self.exec(statement)


def shadowed(text):
    def eval(value):
        return value.strip()

    return eval(text)


HELP = "never call eval() or exec() on input"
