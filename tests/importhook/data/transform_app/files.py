import io
import os
import shutil

BASE = "/srv/data"


def read(name):
    with open(BASE + "/" + name) as f:  # site: path
        return f.read()


def read_io(name):
    with io.open("/srv/data/%s.txt" % name, encoding="utf-8") as f:  # site: path
        return f.read()


def remove(name):
    target = "/srv/uploads/{}".format(name)  # site: path
    os.remove(target)


def wipe(user):
    shutil.rmtree("/home/" + user)  # site: path


def constant():
    return open("/etc/" + "hostname")
