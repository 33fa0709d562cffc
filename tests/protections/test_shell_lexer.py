"""The POSIX shell lexer: token kinds, nesting depth, and (fuzzed) exact coverage of any text."""
import shlex

from hypothesis import given, settings, strategies as st

from sqreen.protections import _shell_lexer as lexer

FUZZ = settings(max_examples=300, deadline=None, derandomize=True)


def kinds(text):
    return [(kind, text[start:end]) for kind, start, end, _, _ in lexer.tokenize(text)]


def word_texts(text):
    return ["".join(text[t[1]:t[2]] for t in word) for word in lexer.words(lexer.tokenize(text))]


def test_operators_blanks_and_words():
    assert kinds("ping -c 1 x; id && a || b | c & d") == [
        ("word", "ping"), ("blank", " "), ("word", "-c"), ("blank", " "), ("word", "1"), ("blank", " "),
        ("word", "x"), ("op", ";"), ("blank", " "), ("word", "id"), ("blank", " "), ("op", "&&"),
        ("blank", " "), ("word", "a"), ("blank", " "), ("op", "||"), ("blank", " "), ("word", "b"),
        ("blank", " "), ("op", "|"), ("blank", " "), ("word", "c"), ("blank", " "), ("op", "&"),
        ("blank", " "), ("word", "d"),
    ]


def test_redirections_and_here_doc_markers_are_operators():
    ops = [text for kind, text in kinds("cat <<-EOF >>f 2>&1 <x >|y &>z\nls") if kind == "op"]
    assert ops == ["<<-", ">>", ">&", "<", ">|", "&>", "\n"]


def test_quotes_hold_metacharacters_as_one_word():
    assert word_texts("echo 'a; b' \"c | d\" e\\;f") == ["echo", "'a; b'", '"c | d"', "e\\;f"]
    assert ("word", "a; b") in kinds("echo 'a; b'")


def test_expansions_and_their_insides():
    tokens = kinds('echo "a $(b c) d" `e` ${x:-a b} $HOME$1')
    assert ("expansion", "$(") in tokens and ("close", ")") in tokens
    assert ("blank", " ") in tokens[tokens.index(("expansion", "$(")):]
    assert ("expansion", "`") in tokens and ("close", "`") in tokens
    assert ("expansion", "${") in tokens and ("word", "x:-a b") in tokens
    assert ("expansion", "$HOME") in tokens and ("expansion", "$1") in tokens


def test_single_quotes_stop_expansions():
    assert kinds("echo '$(id) `id` $HOME'")[2:] == [
        ("quote", "'"), ("word", "$(id) `id` $HOME"), ("quote", "'")
    ]


def test_comment_only_at_a_word_start():
    assert kinds("ls a#b # c d\nx")[2:] == [
        ("word", "a#b"), ("blank", " "), ("comment", "# c d"), ("op", "\n"), ("word", "x")
    ]


def test_depth_counts_open_quotes_and_expansions():
    tokens = lexer.tokenize('"a $(b)"')
    assert [(t[0], t[3], t[4]) for t in tokens] == [
        ("quote", 0, 1), ("word", 1, 1), ("expansion", 1, 2), ("word", 2, 2), ("close", 2, 1), ("quote", 1, 0)
    ]


def test_ansi_c_quotes_and_lone_characters():
    assert kinds("echo $'a\\'b' $ a\\")[2:] == [
        ("quote", "$'"), ("word", "a"), ("escape", "\\'"), ("word", "b"), ("quote", "'"),
        ("blank", " "), ("word", "$"), ("blank", " "), ("word", "a\\"),
    ]


def test_unterminated_constructs_do_not_raise():
    for text in ("'abc", '"abc $(x', "${a", "`x", "$(", "a)", "))", "\\", "$((1+2", "((("):
        assert lexer.tokenize(text)[-1][2] == len(text)


SHELL_CHARS = st.sampled_from(list("ab ;&|<>()$`'\"\\#{}\n\t-=*!~0x") + [u"\u00e9", u"\u2028"])


@FUZZ
@given(st.one_of(st.text(), st.lists(SHELL_CHARS, max_size=60).map("".join)))
def test_tokens_cover_any_text_exactly(text):
    tokens = lexer.tokenize(text)
    position = 0
    for kind, start, end, before, after in tokens:
        assert start == position and end > start
        assert before >= 0 and after >= 0
        position = end
    assert position == len(text)


@FUZZ
@given(st.lists(st.sampled_from(list("ab '\"\\")), max_size=30).map("".join))
def test_words_agree_with_shlex(text):
    try:
        expected = shlex.split(text)
    except ValueError:  # an unterminated quote or escape
        return
    got = word_texts(text)
    assert len(got) == len(expected)
