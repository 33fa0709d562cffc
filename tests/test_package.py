import re
import sys

import sqreen
from tests.helpers import run_python


def test_version_is_pep440():
    assert re.match(r"^\d+\.\d+\.\d+(\.dev\d+)?$", sqreen.__version__)


def test_import_is_cheap():
    """Importing the package loads none of its engine and no framework."""
    _, out, _ = run_python(
        """
        import sys
        before = set(sys.modules)
        import sqreen
        print(sorted(m for m in set(sys.modules) - before if not m.startswith("sqreen")))
        """
    )
    assert out.strip() == "[]", out


def test_interpreter_is_supported():
    assert sys.version_info[:2] == (2, 7) or sys.version_info >= (3, 6)
