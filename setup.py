"""Packaging for sqreen, the open-source security microagent."""
import io
import os
import platform
import re

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def read_version():
    with io.open(os.path.join(HERE, "sqreen", "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def extensions():
    """The compiled parts, CPython only (see ``OptionalBuildExt``)."""
    if platform.python_implementation() != "CPython":
        return []
    return [Extension("sqreen._wsgi_response", ["sqreen/_wsgi_response.c"]),
            Extension("sqreen.protections._candidates", ["sqreen/protections/_candidates.c"])]


class OptionalBuildExt(build_ext):
    """Builds what it can: without a C compiler (or the Python headers) the agent runs the Python versions
    of its compiled parts (``sqreen.wsgi._py_serve`` and ``_PyResponse``,
    ``sqreen.protections._matching._py_candidates``), only slower. (``Extension(optional=True)`` does the
    same on Python 3 but is unknown to 2.7's distutils.)"""

    def run(self):
        try:
            build_ext.run(self)
        except Exception as exc:  # distutils' platform errors: no compiler at all
            self.warn("sqreen: compiled parts not built, the Python versions will run: %s" % exc)

    def build_extension(self, ext):
        try:
            build_ext.build_extension(self, ext)
        except Exception as exc:  # compile or link errors
            self.warn("sqreen: %s not built, its Python version will run: %s" % (ext.name, exc))


def read_readme():
    with io.open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        return f.read()


setup(
    name="sqreen",
    version=read_version(),
    description="Open-source security microagent for Python web applications",
    long_description=read_readme(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(exclude=["tests", "tests.*", "benchmarks", "benchmarks.*"]),
    ext_modules=extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    python_requires=">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*",
    install_requires=[
        "six>=1.12",
        # wrapt: 1.15 is the last release for 2.7, 1.16 the last for 3.6/3.7.
        'wrapt>=1.12,<1.16; python_version < "3"',
        'wrapt>=1.12,<1.17; python_version >= "3" and python_version < "3.8"',
        'wrapt>=1.14; python_version >= "3.8"',
        # bytecode is Python 3 only; 0.13 is the last for 3.6/3.7,
        # 3.12 needs 0.15.1+, 3.13 needs 0.16+.
        'bytecode>=0.13,<0.14; python_version >= "3.6" and python_version < "3.8"',
        'bytecode>=0.13; python_version >= "3.8" and python_version < "3.11"',
        'bytecode>=0.14; python_version >= "3.11" and python_version < "3.12"',
        'bytecode>=0.15.1; python_version >= "3.12" and python_version < "3.13"',
        'bytecode>=0.16; python_version >= "3.13"',
        'requests>=2.20,<2.28; python_version < "3"',
        'requests>=2.20; python_version >= "3"',
    ],
    extras_require={
        # `sqreen demo` (a vulnerable Flask + sqlite3 app attacked with and without the agent), and
        # a small web app to try the agent on (sqreen-start flask --app app run).
        "demo": ['flask>=1.1,<2; python_version < "3"', 'flask>=1.1; python_version >= "3"'],
    },
    entry_points={
        "console_scripts": [
            "sqreen = sqreen._cli:main",
            "sqreen-start = sqreen._cli:start_main",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 2.7",
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Topic :: Security",
    ],
)
