"""Nothing to record here."""
import logging
import os

log = logging.getLogger(__name__)
GREETING = "Hello, " + "world"


def greet(name):
    message = "Hello %s" % name
    log.info("greeted {}".format(name))
    return message + "!"


def join(parts):
    return os.path.join(*parts)


def run():
    return open(os.devnull).read()
