import os
import subprocess
import subprocess as sp
from os import system as run_shell
from subprocess import check_output


def ping(host):
    return os.system("ping -c 1 " + host)  # site: shell


def listing(directory):
    return subprocess.check_output("ls -l %s" % directory, shell=True)  # site: shell


def archive(name):
    command = "tar czf {}.tgz {}".format(name, name)  # site: shell
    return sp.call(command, shell=True)


def popen(pattern):
    return os.popen("grep -r " + pattern + " .").read()  # site: shell


def aliased(target):
    run_shell("touch " + target)  # site: shell
    check_output("echo " + target, shell=True)  # site: shell


def no_shell(target):
    return subprocess.call(["echo", "hello " + target])


def shell_false(target):
    return subprocess.call("echo " + target, shell=False)
