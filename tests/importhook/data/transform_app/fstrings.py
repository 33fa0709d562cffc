import os


def find(cursor, uid):
    cursor.execute(f"SELECT * FROM users WHERE id = {uid}")  # site: sql


def path(name):
    return open(f"/srv/{name}.txt")  # site: path


def command(arg):
    text = f"rm -rf {arg}"  # site: shell
    os.system(text)


def message(name):
    return f"hello {name}"


def constant():
    return open(f"/etc/hostname")
