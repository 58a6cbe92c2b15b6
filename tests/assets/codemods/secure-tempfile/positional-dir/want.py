import os
import tempfile


def job_log(workdir):
    fd, log = tempfile.mkstemp(".log", "job-", workdir)
    os.close(fd)
    return log
