/* The first test of the injection checks, compiled: does an input of the request occur in the text a
 * sensitive call is about to use? Almost never, and it is asked on every query, command, path and URL.
 *
 * ``candidates``: sqreen.protections._matching.candidates for short texts (a query, a command, a path,
 * a URL). Same answer as the Python version: the inputs whose text value occurs in ``text``, as
 * ``[(input_tuple, value)]``. Long texts and odd inputs go back to Python (``configure()``).
 *
 * ``could_be_bent``: the current request's part of it, for sqreen._attack_report: False when there is
 * no request or no input of it occurs in ``text`` (bytes decoded from UTF-8 as the checks do; then no
 * check need run); True when one does, or when it cannot tell cheaply (values that are not text, a long
 * text with many inputs). Bytes input values are decoded too.
 * CPython 2.7 and 3.6+.
 */
#include <Python.h>

static PyObject *long_text;   /* long_text(text, inputs, min_length): the Python version, for long texts */
static PyObject *as_text;     /* as_text(value): an input value's text form, or None */
static Py_ssize_t probe_from; /* texts at least this long go to long_text */
static Py_ssize_t min_length = 2; /* shorter values are never looked for */
static PyObject *request_ns;  /* vars(sqreen._request), for ``current`` */
static PyObject *current_name, *cache_name, *inputs_name, *inputs_key;
/* could_be_bent answers True without looking past this much work (text length x inputs). */
#define MAX_WORK (4 * 1024 * 1024)

#define IS_TEXT PyUnicode_Check /* str (unicode on 2.7), subclasses included (Markup) */
#if PY_MAJOR_VERSION >= 3
#define TEXT_LENGTH PyUnicode_GET_LENGTH
#else
#define TEXT_LENGTH PyUnicode_GET_SIZE
#endif

static PyObject *
candidates(PyObject *module, PyObject *args)
{
    PyObject *text, *inputs, *seq = NULL, *found = NULL, *item, *value, *pair;
    Py_ssize_t min_length = 2, size, count, i, length; /* the parameter's default: MIN_LENGTH */
    int contains;

    if (!PyArg_ParseTuple(args, "OO|n:candidates", &text, &inputs, &min_length))
        return NULL;
    if (long_text == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sqreen.protections._candidates.configure() was not called");
        return NULL;
    }
    if (!IS_TEXT(text))
        goto python;
#if PY_MAJOR_VERSION >= 3
    if (PyUnicode_READY(text) < 0)
        return NULL;
#endif
    size = TEXT_LENGTH(text);
    if (size >= probe_from || !(PyTuple_CheckExact(inputs) || PyList_CheckExact(inputs)))
        goto python;
    /* a list is copied: as_text() may run code of a value's own, which could change it under the loop */
    if (PyTuple_CheckExact(inputs)) {
        Py_INCREF(inputs);
        seq = inputs;
    } else {
        seq = PyList_AsTuple(inputs);
        if (seq == NULL)
            return NULL;
    }
    found = PyList_New(0);
    if (found == NULL)
        goto failed;
    count = PyTuple_GET_SIZE(seq);
    for (i = 0; i < count; i++) {
        item = PyTuple_GET_ITEM(seq, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) < 3) {
            Py_CLEAR(found);
            Py_CLEAR(seq);
            goto python;
        }
        value = PyTuple_GET_ITEM(item, 2);
        if (IS_TEXT(value)) {
            Py_INCREF(value);
        } else {
            value = PyObject_CallFunctionObjArgs(as_text, value, NULL);
            if (value == NULL)
                goto failed;
            if (!IS_TEXT(value)) { /* None: never looked for */
                Py_DECREF(value);
                continue;
            }
        }
#if PY_MAJOR_VERSION >= 3
        if (PyUnicode_READY(value) < 0) {
            Py_DECREF(value);
            goto failed;
        }
#endif
        length = TEXT_LENGTH(value);
        if (length < min_length || length > size) {
            Py_DECREF(value);
            continue;
        }
        contains = PyUnicode_Contains(text, value);
        if (contains < 0) {
            Py_DECREF(value);
            goto failed;
        }
        if (contains) {
            pair = PyTuple_Pack(2, item, value);
            if (pair == NULL || PyList_Append(found, pair) < 0) {
                Py_XDECREF(pair);
                Py_DECREF(value);
                goto failed;
            }
            Py_DECREF(pair);
        }
        Py_DECREF(value);
    }
    Py_DECREF(seq);
    return found;

failed:
    Py_XDECREF(found);
    Py_XDECREF(seq);
    return NULL;

python:
    return PyObject_CallFunction(long_text, "OOn", text, inputs, min_length);
}

/* 1 when an input of the current request occurs in ``text`` or it cannot tell, 0 when none does. */
static int
bent(PyObject *text)
{
    PyObject *get, *request, *cache, *inputs = NULL, *item, *value;
    Py_ssize_t size, count, i, length;
    int answer = 1, contains;

    get = request_ns == NULL ? NULL : PyDict_GetItem(request_ns, current_name);
    if (get == NULL)
        return 1;
    Py_INCREF(get); /* held while it runs */
    request = PyObject_CallFunctionObjArgs(get, NULL);
    Py_DECREF(get);
    if (request == NULL) {
        PyErr_Clear();
        return 1;
    }
    if (request == Py_None) {
        Py_DECREF(request);
        return 0;
    }
    if (PyUnicode_Check(text)) {
        Py_INCREF(text);
    } else if (PyBytes_Check(text)) { /* decoded as the checks decode it (str queries on Python 2) */
        text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(text), PyBytes_GET_SIZE(text), "replace");
        if (text == NULL) {
            PyErr_Clear();
            Py_DECREF(request);
            return 1;
        }
    } else {
        Py_DECREF(request);
        return 1;
    }
#if PY_MAJOR_VERSION >= 3
    if (PyUnicode_READY(text) < 0) {
        PyErr_Clear();
        Py_DECREF(request);
        Py_DECREF(text);
        return 1;
    }
#endif
    /* the request's inputs: worked out once per request (Request.inputs), read from its cache after */
    cache = PyObject_GetAttr(request, cache_name);
    if (cache == NULL)
        PyErr_Clear();
    else if (PyDict_CheckExact(cache)) {
        inputs = PyDict_GetItem(cache, inputs_key);
        Py_XINCREF(inputs);
    }
    Py_XDECREF(cache);
    if (inputs == NULL) {
        inputs = PyObject_CallMethodObjArgs(request, inputs_name, NULL);
        if (inputs == NULL)
            PyErr_Clear();
    }
    Py_DECREF(request);
    if (inputs == NULL || !PyTuple_CheckExact(inputs))
        goto done;
    size = TEXT_LENGTH(text);
    count = PyTuple_GET_SIZE(inputs);
    if (count > 0 && size > MAX_WORK / count)
        goto done;
    for (i = 0; i < count; i++) {
        item = PyTuple_GET_ITEM(inputs, i);
        if (!PyTuple_CheckExact(item) || PyTuple_GET_SIZE(item) < 3)
            goto done;
        value = PyTuple_GET_ITEM(item, 2);
        if (PyUnicode_Check(value)) {
            Py_INCREF(value);
        } else if (PyBytes_Check(value)) { /* as as_text() decodes it (header values on Python 2) */
            value = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), "replace");
            if (value == NULL) {
                PyErr_Clear();
                goto done;
            }
        } else {
            goto done; /* a number: the full check decides */
        }
#if PY_MAJOR_VERSION >= 3
        if (PyUnicode_READY(value) < 0) {
            PyErr_Clear();
            Py_DECREF(value);
            goto done;
        }
#endif
        length = TEXT_LENGTH(value);
        contains = length < min_length || length > size ? 0 : PyUnicode_Contains(text, value);
        Py_DECREF(value);
        if (contains != 0) {
            if (contains < 0)
                PyErr_Clear();
            goto done;
        }
    }
    answer = 0;
done:
    Py_XDECREF(inputs);
    Py_DECREF(text);
    return answer;
}

static PyObject *
could_be_bent(PyObject *module, PyObject *text)
{
    if (bent(text))
        Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

static PyObject *
configure_request(PyObject *module, PyObject *args)
{
    PyObject *ns;

    if (!PyArg_ParseTuple(args, "O!n:configure_request", &PyDict_Type, &ns, &min_length))
        return NULL;
    Py_INCREF(ns);
    Py_XDECREF(request_ns);
    request_ns = ns;
    Py_RETURN_NONE;
}

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *l, *a;
    Py_ssize_t p;

    if (!PyArg_ParseTuple(args, "OOn:configure", &l, &a, &p))
        return NULL;
    Py_INCREF(l);
    Py_XDECREF(long_text);
    long_text = l;
    Py_INCREF(a);
    Py_XDECREF(as_text);
    as_text = a;
    probe_from = p;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"candidates", candidates, METH_VARARGS,
     "candidates($module, text, inputs, min_length=2)\n--\n\n"
     "``[(input_tuple, value)]`` for each input whose text value could occur in ``text`` (see\n"
     "sqreen.protections._matching.candidates)."},
    {"configure", configure, METH_VARARGS, "configure(long_text, as_text, probe_from)"},
    {"could_be_bent", could_be_bent, METH_O,
     "could_be_bent($module, text, /)\n--\n\n"
     "False when no request is current or none of its inputs occurs in ``text``; else True."},
    {"configure_request", configure_request, METH_VARARGS,
     "configure_request(vars(sqreen._request), min_length)"},
    {NULL}
};

static PyObject *
init_module(PyObject *module)
{
    if (module == NULL)
        return NULL;
#if PY_MAJOR_VERSION >= 3
    current_name = PyUnicode_InternFromString("current");
    cache_name = PyUnicode_InternFromString("_cache");
    inputs_name = PyUnicode_InternFromString("inputs");
#else
    current_name = PyString_InternFromString("current");
    cache_name = PyString_InternFromString("_cache");
    inputs_name = PyString_InternFromString("inputs");
#endif
    if (current_name == NULL || cache_name == NULL || inputs_name == NULL)
        return NULL;
    inputs_key = inputs_name; /* Request keeps its inputs under "inputs" in _cache */
    return module;
}

#define DOC "sqreen.protections._matching's first test, compiled."

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_candidates", DOC, -1, module_methods,
};

PyMODINIT_FUNC
PyInit__candidates(void)
{
    return init_module(PyModule_Create(&moduledef));
}
#else
PyMODINIT_FUNC
init_candidates(void)
{
    init_module(Py_InitModule3("_candidates", module_methods, DOC));
}
#endif
