"""Loading the engine costs the app's startup only its own small modules."""
from tests.helpers import run_python
from tests.importhook._util import py3_only


@py3_only
def test_install_and_register_import_only_the_engine_modules():
    _, out, _ = run_python(
        """
        import sys
        before = set(sys.modules)
        import sqreen.importhook as ih
        ih.install()
        ih.register("not_imported_here", lambda m: None)
        ih.register_transformer("nor_this", lambda tree, name, filename: tree, "1")
        print(sorted(set(sys.modules) - before))
        """
    )
    assert out.split() == [
        "['sqreen',",
        "'sqreen.importhook',",
        "'sqreen.importhook._common',",
        "'sqreen.importhook._finder',",
        "'sqreen.importhook._registry']",
    ]
