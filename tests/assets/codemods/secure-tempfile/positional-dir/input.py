import os
import tempfile


def job_log(workdir):
    log = tempfile.mktemp(".log", "job-", workdir)
    return log
