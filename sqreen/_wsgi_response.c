/* The WSGI response object of sqreen.wsgi, compiled: ``Response`` does what the
 * pure-Python ``sqreen.wsgi._PyResponse`` does, attribute for attribute, at a
 * fraction of the interpreter's cost, since every request served makes one and
 * the server calls it three to five times (start_response, iteration, close).
 *
 * Anything out of the ordinary is left to Python through the functions given to
 * ``configure()``: making the current request current again, closing the time
 * budget, logging an agent error, the 403 body of a request blocked mid-body,
 * and the whole iteration of an allowlisted request. Built when a C compiler
 * is at hand (optional in setup.py); sqreen.wsgi falls back to the Python class
 * otherwise. CPython 2.7 and 3.6+.
 */
#include <Python.h>
#include <structmember.h>

#if PY_MAJOR_VERSION >= 3
#define TEXT_FROM PyUnicode_FromString
#else
#define TEXT_FROM PyString_FromString
#endif

/* Calls with one or no argument: vectorcall where the interpreter has it (3.9+). */
#if PY_VERSION_HEX >= 0x03090000
#define CALL0(f) PyObject_CallNoArgs(f)
#define CALL1(f, a) PyObject_CallOneArg((f), (a))
#else
#define CALL0(f) PyObject_CallFunctionObjArgs((f), NULL)
#define CALL1(f, a) PyObject_CallFunctionObjArgs((f), (a), NULL)
#endif

#if PY_MAJOR_VERSION >= 3
#define INTERNED PyUnicode_InternFromString
#else
#define INTERNED PyString_InternFromString
#endif

#ifndef Py_XSETREF
#define Py_XSETREF(op, op2) do { PyObject *_old = (PyObject *)(op); (op) = (op2); Py_XDECREF(_old); } while (0)
#endif

/* What configure() gives: see sqreen/wsgi.py. Functions that tests or other code may replace
 * (sqreen._request's, the budget's) are looked up in their module's namespace when called. */
static PyObject *request_ns;      /* vars(sqreen._request): activate, current, Request */
static PyObject *budget_ns;       /* vars(sqreen.instrumentation._budget): start, stop, wanted */
static PyObject *runtime_state;   /* sqreen._runtime._state: status, config */
static PyObject *running;         /* sqreen._runtime.RUNNING */
static PyObject *settings_slot;   /* sqreen.wsgi._settings: [the _Settings of the configuration] */
static PyObject *report_error;    /* report_error(key, exc_type, exc_value, exc_tb): log once, count */
static PyObject *blocked_chunk;   /* blocked_chunk(response, sent, exc_type, exc_value, exc_tb) -> 403 body */
static PyObject *guarded_chunks;  /* guarded_chunks(response) -> iterator, for an allowlisted request */
static PyObject *blocked_response; /* blocked_response(response, environ, exc_type, exc_value, exc_tb) */
static PyObject *python_serve;    /* sqreen.wsgi._py_serve: every request out of the ordinary */
static PyObject *request_blocked; /* the RequestBlocked class */

/* Attribute names, interned once: the type attribute cache only knows interned names. */
static PyObject *allowlisted_name, *close_name, *write_name, *activate_name, *stop_name, *start_name,
    *wanted_name, *current_name, *request_name, *status_name, *config_name, *fast_name, *environ_name,
    *route_reader_name, *file_wrapper_name;

/* ``name`` from the namespace ``ns`` (a new reference), or NULL with an error set. */
static PyObject *
lookup(PyObject *ns, PyObject *name)
{
    PyObject *value = PyDict_GetItem(ns, name);
    if (value == NULL)
        PyErr_SetObject(PyExc_KeyError, name);
    Py_XINCREF(value);
    return value;
}

/* ``ns[name](arg)``, or ``ns[name]()`` when ``arg`` is NULL (the function held while it runs). */
static PyObject *
call_named(PyObject *ns, PyObject *name, PyObject *arg)
{
    PyObject *function = lookup(ns, name), *result;

    if (function == NULL)
        return NULL;
    result = arg == NULL ? CALL0(function) : CALL1(function, arg);
    Py_DECREF(function);
    return result;
}

/* Where the iteration is. */
enum { FRESH = 0, ITERATING = 1, BLOCK_SENT = 2, DONE = 3 };

typedef struct {
    PyObject_HEAD
    PyObject *request;
    PyObject *previous;
    PyObject *server;        /* the server's start_response */
    PyObject *pending;       /* (status, headers) from the app, until the body starts */
    PyObject *server_write;  /* what the server's start_response returned */
    PyObject *result;        /* the app's iterable */
    PyObject *iterator;      /* the Python iterator of an allowlisted request */
    PyObject *source;        /* iter(result), while iterated here */
    char budget;             /* a time budget was opened for the request */
    char ended;
    char started;            /* the status and headers went to the server */
    char finished;           /* the app's iterable was closed */
    char sent;               /* a non-empty chunk went out */
    char state;
} Response;

static PyTypeObject ResponseType;

/* Log the error being raised (once per key, through Python) and clear it. */
static void
report(const char *key)
{
    PyObject *type, *value, *tb, *name, *result;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    name = TEXT_FROM(key);
    if (name != NULL && report_error != NULL) {
        result = PyObject_CallFunctionObjArgs(report_error, name, type ? type : Py_None,
                                              value ? value : Py_None, tb ? tb : Py_None, NULL);
        Py_XDECREF(result);
    }
    Py_XDECREF(name);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyErr_Clear();
}

/* End the request (once): close its budget, make the request before it current again. Never fails. */
static void
end_request(Response *self)
{
    PyObject *type, *value, *tb, *result;

    if (self->ended)
        return;
    self->ended = 1;
    PyErr_Fetch(&type, &value, &tb); /* an error on its way out stays so */
    if (self->budget) {
        result = call_named(budget_ns, stop_name, NULL);
        if (result == NULL) {
            report("wsgi:end");
            goto done; /* as the Python version: the request is left current */
        }
        Py_DECREF(result);
    }
    {
        result = call_named(request_ns, activate_name, self->previous ? self->previous : Py_None);
        if (result == NULL)
            report("wsgi:end");
        else
            Py_DECREF(result);
    }
done:
    PyErr_Restore(type, value, tb);
}

/* Hand the app's status and headers to the server (once). -1 on error. */
static int
flush(Response *self)
{
    PyObject *write, *server, *pending;

    if (self->started || self->pending == NULL || !PyTuple_Check(self->pending))
        return 0;
    self->started = 1;
    if (self->server == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sqreen: the response has no server start_response");
        return -1;
    }
    server = self->server; /* held: the server may call back into this object */
    pending = self->pending;
    Py_INCREF(server);
    Py_INCREF(pending);
    write = PyObject_Call(server, pending, NULL);
    Py_DECREF(server);
    Py_DECREF(pending);
    if (write == NULL)
        return -1;
    Py_XSETREF(self->server_write, write);
    return 0;
}

/* Close the app's iterable and end the request, once. -1 when close() raised (the request ends anyway). */
static int
finish(Response *self)
{
    PyObject *close, *result;
    int status = 0;

    if (self->finished)
        return 0;
    self->finished = 1;
    if (self->result != NULL) {
        close = PyObject_GetAttr(self->result, close_name);
        if (close == NULL) {
            if (PyErr_ExceptionMatches(PyExc_AttributeError))
                PyErr_Clear();
            else
                status = -1;
        } else {
            result = CALL0(close);
            Py_DECREF(close);
            if (result != NULL)
                Py_DECREF(result);
            else if (PyErr_ExceptionMatches(request_blocked))
                report("wsgi:blocked-in-close");
            else
                status = -1;
        }
    }
    end_request(self);
    return status;
}

static PyObject *
Response_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *request, *previous, *budget = Py_False;
    Response *self;
    int opened;

    if (kwds != NULL && PyDict_Size(kwds) != 0) {
        PyErr_SetString(PyExc_TypeError, "Response() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_UnpackTuple(args, "Response", 2, 3, &request, &previous, &budget))
        return NULL;
    if (request_ns == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sqreen._wsgi_response.configure() was not called");
        return NULL;
    }
    opened = PyObject_IsTrue(budget);
    if (opened < 0)
        return NULL;
    self = (Response *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(request);
    self->request = request;
    Py_INCREF(previous);
    self->previous = previous;
    self->budget = (char)opened;
    return (PyObject *)self;
}

static int
Response_traverse(Response *self, visitproc visit, void *arg)
{
    Py_VISIT(self->request);
    Py_VISIT(self->previous);
    Py_VISIT(self->server);
    Py_VISIT(self->pending);
    Py_VISIT(self->server_write);
    Py_VISIT(self->result);
    Py_VISIT(self->iterator);
    Py_VISIT(self->source);
    return 0;
}

static int
Response_clear(Response *self)
{
    Py_CLEAR(self->request);
    Py_CLEAR(self->previous);
    Py_CLEAR(self->server);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->server_write);
    Py_CLEAR(self->result);
    Py_CLEAR(self->iterator);
    Py_CLEAR(self->source);
    return 0;
}

static void
Response_dealloc(Response *self)
{
    PyObject_GC_UnTrack(self);
    Response_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* start_response, as the app sees it: holds the status and headers until the body starts. */
static PyObject *
Response_call(Response *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"status", "headers", "exc_info", NULL};
    PyObject *status, *headers, *exc_info = Py_None, *pending;

    if (kwds == NULL && PyTuple_GET_SIZE(args) == 2) { /* the common call: start_response(status, headers) */
        status = PyTuple_GET_ITEM(args, 0);
        headers = PyTuple_GET_ITEM(args, 1);
    } else if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O:start_response", keywords, &status, &headers,
                                            &exc_info)) {
        return NULL;
    }
    if (self->server == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sqreen: the response has no server start_response");
        return NULL;
    }
    if (self->started) { /* the server has them: it decides (it raises if the headers are out) */
        PyObject *server = self->server, *result;
        Py_INCREF(server);
        result = PyObject_CallFunctionObjArgs(server, status, headers, exc_info, NULL);
        Py_DECREF(server);
        return result;
    }
    if (self->pending != NULL && exc_info == Py_None) {
        PyErr_SetString(PyExc_AssertionError, "start_response called a second time without exc_info");
        return NULL;
    }
    pending = PyTuple_Pack(2, status, headers);
    if (pending == NULL)
        return NULL;
    Py_XSETREF(self->pending, pending);
    return PyObject_GetAttr((PyObject *)self, write_name);
}

static PyObject *
Response_flush(Response *self, PyObject *unused)
{
    if (flush(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Response_write(Response *self, PyObject *data)
{
    PyObject *write, *result;

    if (flush(self) < 0)
        return NULL;
    if (self->server_write == NULL || self->server_write == Py_None) {
        PyErr_SetString(PyExc_RuntimeError, "write() before start_response()");
        return NULL;
    }
    write = self->server_write;
    Py_INCREF(write);
    result = CALL1(write, data);
    Py_DECREF(write);
    return result;
}

static PyObject *
Response_end(Response *self, PyObject *unused)
{
    end_request(self);
    Py_RETURN_NONE;
}

static PyObject *
Response_finish(Response *self, PyObject *unused)
{
    if (finish(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Response_close(Response *self, PyObject *unused)
{
    PyObject *result;

    if (self->finished) /* the common case: the server closes a response it has iterated to the end */
        Py_RETURN_NONE;
    self->state = DONE;
    Py_CLEAR(self->source);
    if (self->iterator != NULL) {
        result = PyObject_CallMethodObjArgs(self->iterator, close_name, NULL);
        if (result == NULL) {
            /* as a generator's close() raising: the app's iterable is still closed, the request ended */
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            finish(self);
            PyErr_Restore(type, value, tb);
            return NULL;
        }
        Py_DECREF(result);
    }
    if (finish(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Response_iter(Response *self)
{
    PyObject *allowlisted;
    int guarded;

    if (self->state == FRESH && self->iterator == NULL) {
        allowlisted = PyObject_GetAttr(self->request, allowlisted_name);
        if (allowlisted == NULL)
            return NULL;
        guarded = PyObject_IsTrue(allowlisted);
        Py_DECREF(allowlisted);
        if (guarded < 0)
            return NULL;
        if (guarded) { /* the app's code runs as the agent's own: Python's business */
            PyObject *iterator = CALL1(guarded_chunks, (PyObject *)self);
            if (iterator == NULL)
                return NULL;
            Py_XSETREF(self->iterator, iterator);
            Py_INCREF(iterator);
            return iterator;
        }
    } else if (self->iterator != NULL) {
        Py_INCREF(self->iterator);
        return self->iterator;
    }
    Py_INCREF(self);
    return (PyObject *)self;
}

/* The 403 body for a block raised while iterating; NULL with ResponseInterrupted once something was sent. */
static PyObject *
blocked(Response *self)
{
    PyObject *type, *value, *tb, *body, *sent;

    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
#if PY_MAJOR_VERSION >= 3
    if (tb != NULL && value != NULL)
        PyException_SetTraceback(value, tb);
#endif
    sent = self->sent ? Py_True : Py_False;
    body = PyObject_CallFunctionObjArgs(blocked_chunk, (PyObject *)self, sent, type ? type : Py_None,
                                        value ? value : Py_None, tb ? tb : Py_None, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return body;
}

static PyObject *
Response_next(Response *self)
{
    PyObject *chunk;
    int truth;

    if (self->state == DONE)
        return NULL;
    if (self->state == FRESH) {
        self->state = ITERATING;
        if (self->result == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "sqreen: the response has no iterable");
            goto failed;
        }
        self->source = PyObject_GetIter(self->result);
        if (self->source == NULL)
            goto failed;
    }
    if (self->state == ITERATING) {
        PyObject *source = self->source; /* held: close() may let it go meanwhile */
        Py_INCREF(source);
        chunk = PyIter_Next(source);
        Py_DECREF(source);
        if (chunk != NULL) {
            if (!self->sent) {
                truth = PyObject_IsTrue(chunk);
                if (truth < 0 || (!self->started && flush(self) < 0)) {
                    Py_DECREF(chunk);
                    goto failed;
                }
                self->sent = (char)truth;
            }
            return chunk;
        }
        if (PyErr_Occurred())
            goto failed;
    }
    /* the body is over (or its 403 replacement went out): the request ends */
    self->state = DONE;
    Py_CLEAR(self->source);
    if (!self->started && flush(self) < 0)
        return NULL;
    finish(self);
    return NULL;

failed:
    Py_CLEAR(self->source);
    if (PyErr_ExceptionMatches(request_blocked)) {
        chunk = blocked(self);
        if (chunk != NULL) {
            self->state = BLOCK_SENT;
            return chunk;
        }
    }
    self->state = DONE;
    return NULL;
}

static PyMemberDef Response_members[] = {
    {"request", T_OBJECT, offsetof(Response, request), READONLY, NULL},
    {"previous", T_OBJECT, offsetof(Response, previous), READONLY, NULL},
    {"server", T_OBJECT, offsetof(Response, server), 0, NULL},
    {"pending", T_OBJECT, offsetof(Response, pending), READONLY, NULL},
    {"server_write", T_OBJECT, offsetof(Response, server_write), 0, NULL},
    {"result", T_OBJECT, offsetof(Response, result), 0, NULL},
    {"iterator", T_OBJECT, offsetof(Response, iterator), READONLY, NULL},
    {"budget", T_BOOL, offsetof(Response, budget), READONLY, NULL},
    {"ended", T_BOOL, offsetof(Response, ended), READONLY, NULL},
    {"started", T_BOOL, offsetof(Response, started), 0, NULL},
    {"finished", T_BOOL, offsetof(Response, finished), READONLY, NULL},
    {NULL}
};

static PyMethodDef Response_methods[] = {
    {"flush", (PyCFunction)Response_flush, METH_NOARGS, "Hand the app's status and headers to the server (once)."},
    {"write", (PyCFunction)Response_write, METH_O, "The write() callable start_response returns."},
    {"end", (PyCFunction)Response_end, METH_NOARGS, "End the request (once)."},
    {"_finish", (PyCFunction)Response_finish, METH_NOARGS, "Close the app's iterable and end the request, once."},
    {"close", (PyCFunction)Response_close, METH_NOARGS, "What the server calls when it is done."},
    {NULL}
};

static PyTypeObject ResponseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    "sqreen._wsgi_response.Response",  /* tp_name */
    sizeof(Response),                  /* tp_basicsize */
    0,                                 /* tp_itemsize */
    (destructor)Response_dealloc,      /* tp_dealloc */
    0,                                 /* tp_print / tp_vectorcall_offset */
    0,                                 /* tp_getattr */
    0,                                 /* tp_setattr */
    0,                                 /* tp_compare / tp_as_async */
    0,                                 /* tp_repr */
    0,                                 /* tp_as_number */
    0,                                 /* tp_as_sequence */
    0,                                 /* tp_as_mapping */
    0,                                 /* tp_hash */
    (ternaryfunc)Response_call,        /* tp_call */
    0,                                 /* tp_str */
    0,                                 /* tp_getattro */
    0,                                 /* tp_setattro */
    0,                                 /* tp_as_buffer */
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, /* tp_flags */
    "A WSGI request's scope, the start_response its app gets, and the app's response iterable with\n"
    "the request kept current until its last chunk is out (see sqreen.wsgi._PyResponse).", /* tp_doc */
    (traverseproc)Response_traverse,   /* tp_traverse */
    (inquiry)Response_clear,           /* tp_clear */
    0,                                 /* tp_richcompare */
    0,                                 /* tp_weaklistoffset */
    (getiterfunc)Response_iter,        /* tp_iter */
    (iternextfunc)Response_next,       /* tp_iternext */
    Response_methods,                  /* tp_methods */
    Response_members,                  /* tp_members */
    0,                                 /* tp_getset */
    0,                                 /* tp_base */
    0,                                 /* tp_dict */
    0,                                 /* tp_descr_get */
    0,                                 /* tp_descr_set */
    0,                                 /* tp_dictoffset */
    0,                                 /* tp_init */
    PyType_GenericAlloc,               /* tp_alloc */
    Response_new,                      /* tp_new */
    PyObject_GC_Del,                   /* tp_free */
};

static PyObject *
configure(PyObject *module, PyObject *args)
{
    PyObject *values[11];
    PyObject **slots[11];
    int i;

    slots[0] = &request_ns;
    slots[1] = &budget_ns;
    slots[2] = &runtime_state;
    slots[3] = &running;
    slots[4] = &settings_slot;
    slots[5] = &report_error;
    slots[6] = &blocked_chunk;
    slots[7] = &guarded_chunks;
    slots[8] = &blocked_response;
    slots[9] = &python_serve;
    slots[10] = &request_blocked;
    if (!PyArg_UnpackTuple(args, "configure", 11, 11, &values[0], &values[1], &values[2], &values[3],
                           &values[4], &values[5], &values[6], &values[7], &values[8], &values[9],
                           &values[10]))
        return NULL;
    if (!PyDict_Check(values[0]) || !PyDict_Check(values[1]) || !PyDict_Check(values[2])
        || !PyList_Check(values[4])) {
        PyErr_SetString(PyExc_TypeError, "configure(): namespaces and state must be dicts, settings a list");
        return NULL;
    }
    for (i = 0; i < 11; i++) {
        Py_INCREF(values[i]);
        Py_XSETREF(*slots[i], values[i]);
    }
    Py_RETURN_NONE;
}

/* Call ``f(a, b)``. */
static PyObject *
call2(PyObject *f, PyObject *a, PyObject *b)
{
#if PY_VERSION_HEX >= 0x03090000
    PyObject *argv[2];
    argv[0] = a;
    argv[1] = b;
    return PyObject_Vectorcall(f, argv, 2, NULL);
#else
    return PyObject_CallFunctionObjArgs(f, a, b, NULL);
#endif
}

#define SERVE_DOC \
    "serve($module, app, environ, start_response, route_reader=None)\n--\n\n" \
    "Call the WSGI ``app`` under the agent's request handling (sqreen.wsgi.serve, compiled: the common\n" \
    "request here, any other in sqreen.wsgi._py_serve)."

static PyObject *
serve(PyObject *module, PyObject *args)
{
    PyObject *app, *environ, *start_response, *route_reader = Py_None;
    PyObject *status, *settings, *config, *value, *function, *file_wrapper;
    PyObject *fast = NULL, *current = NULL, *request = NULL, *result = NULL;
    Response *scope = NULL;
    int opened = 0, truth;

    if (!PyArg_UnpackTuple(args, "serve", 3, 4, &app, &environ, &start_response, &route_reader))
        return NULL;
    if (request_ns == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "sqreen._wsgi_response.configure() was not called");
        return NULL;
    }
    /* The runtime's state read directly: status() would also check for a fork (a system call). */
    status = PyDict_GetItem(runtime_state, status_name);
    if (status != running) {
        truth = status == NULL ? 0 : PyObject_RichCompareBool(status, running, Py_EQ);
        if (truth < 0)
            return NULL;
        if (!truth)
            return call2(app, environ, start_response);
    }
    /* What is not the common case goes to Python: an environ that is no dict, a configuration not
     * read yet, IP lists, a request some outer middleware serves already. */
    if (!PyDict_CheckExact(environ) || PyList_GET_SIZE(settings_slot) < 1)
        goto python;
    settings = PyList_GET_ITEM(settings_slot, 0);
    config = PyDict_GetItem(runtime_state, config_name);
    if (settings == Py_None || config == NULL)
        goto python;
    value = PyObject_GetAttr(settings, config_name);
    if (value == NULL)
        goto python;
    Py_DECREF(value);
    if (value != config)
        goto python;
    fast = PyObject_GetAttr(settings, fast_name); /* (ip_header, trusted, budget_ms), or None */
    if (fast == NULL || !PyTuple_CheckExact(fast) || PyTuple_GET_SIZE(fast) != 3)
        goto python;
    current = call_named(request_ns, current_name, NULL);
    if (current == NULL)
        goto python;
    if (current != Py_None) {
        value = PyObject_GetAttr(current, environ_name);
        if (value == NULL)
            goto python;
        Py_DECREF(value);
        if (value == environ)
            goto python;
    }

    /* sqreen.wsgi._begin: the request, current, its budget */
    function = lookup(request_ns, request_name);
    if (function == NULL)
        goto begin_failed;
    request = PyObject_CallFunctionObjArgs(function, environ, PyTuple_GET_ITEM(fast, 0),
                                           PyTuple_GET_ITEM(fast, 1), NULL);
    Py_DECREF(function);
    if (request == NULL)
        goto begin_failed;
    if (route_reader != Py_None && PyObject_SetAttr(request, route_reader_name, route_reader) < 0)
        goto begin_failed;
    value = call_named(request_ns, activate_name, request);
    if (value == NULL)
        goto begin_failed;
    Py_DECREF(value);
    /* A budget only serves to skip interruptible callbacks: none registered, none opened. */
    truth = PyObject_IsTrue(PyTuple_GET_ITEM(fast, 2));
    if (truth < 0)
        goto begin_failed;
    if (truth) {
        value = lookup(budget_ns, wanted_name);
        if (value == NULL)
            goto begin_failed;
        if (!PyList_Check(value) || PyList_GET_SIZE(value) < 1) {
            Py_DECREF(value);
            PyErr_SetString(PyExc_TypeError, "budget.wanted is not a one-item list");
            goto begin_failed;
        }
        opened = PyObject_IsTrue(PyList_GET_ITEM(value, 0)); /* a bool, set by the budget module */
        Py_DECREF(value);
        if (opened < 0)
            goto begin_failed;
        if (opened) {
            value = call_named(budget_ns, start_name, PyTuple_GET_ITEM(fast, 2));
            if (value == NULL)
                goto begin_failed;
            Py_DECREF(value);
        }
    }
    scope = (Response *)ResponseType.tp_alloc(&ResponseType, 0);
    if (scope == NULL)
        goto begin_failed;
    scope->request = request;
    request = NULL;
    scope->previous = current;
    current = NULL;
    scope->budget = (char)opened;
    Py_INCREF(start_response);
    scope->server = start_response; /* the scope is the start_response the app gets */

    /* the app */
    result = call2(app, environ, (PyObject *)scope);
    if (result == NULL) {
        if (PyErr_ExceptionMatches(request_blocked)) {
            PyObject *type, *exc, *tb;
            PyErr_Fetch(&type, &exc, &tb);
            PyErr_NormalizeException(&type, &exc, &tb);
#if PY_MAJOR_VERSION >= 3
            if (tb != NULL && exc != NULL)
                PyException_SetTraceback(exc, tb);
#endif
            result = PyObject_CallFunctionObjArgs(blocked_response, (PyObject *)scope, environ,
                                                  type ? type : Py_None, exc ? exc : Py_None,
                                                  tb ? tb : Py_None, NULL);
            Py_XDECREF(type);
            Py_XDECREF(exc);
            Py_XDECREF(tb);
        } else {
            end_request(scope);
        }
        goto done;
    }
    if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) { /* nothing left to run: the request is over */
        end_request(scope);
        if (flush(scope) < 0)
            Py_CLEAR(result);
        goto done;
    }
    file_wrapper = PyDict_GetItem(environ, file_wrapper_name);
    if (file_wrapper != NULL && PyType_Check(file_wrapper)) {
        truth = PyObject_IsInstance(result, file_wrapper);
        if (truth != 0) { /* a file sent as is: keep the server's fast path */
            end_request(scope);
            if (truth < 0 || flush(scope) < 0)
                Py_CLEAR(result);
            goto done;
        }
    }
    scope->result = result;
    Py_INCREF(scope);
    result = (PyObject *)scope;

done:
    Py_XDECREF(fast);
    Py_XDECREF(scope);
    return result;

begin_failed:
    report("wsgi:begin");
    Py_XDECREF(fast);
    Py_XDECREF(current);
    Py_XDECREF(request);
    return call2(app, environ, start_response);

python:
    PyErr_Clear();
    Py_XDECREF(fast);
    Py_XDECREF(current);
    return PyObject_CallFunctionObjArgs(python_serve, app, environ, start_response, route_reader, NULL);
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(vars(_request), vars(_budget), _runtime._state, RUNNING, wsgi._settings, report_error,\n"
     "          blocked_chunk, guarded_chunks, blocked_response, python_serve, RequestBlocked)"},
    {"serve", serve, METH_VARARGS, SERVE_DOC},
    {NULL}
};

static PyObject *
init_module(PyObject *module)
{
    PyObject **names[15];
    const char *texts[15] = {"allowlisted", "close", "write", "activate", "stop", "start", "wanted", "current",
                             "Request", "status", "config", "fast", "environ", "route_reader",
                             "wsgi.file_wrapper"};
    int i;

    if (module == NULL)
        return NULL;
    names[0] = &allowlisted_name;
    names[1] = &close_name;
    names[2] = &write_name;
    names[3] = &activate_name;
    names[4] = &stop_name;
    names[5] = &start_name;
    names[6] = &wanted_name;
    names[7] = &current_name;
    names[8] = &request_name;
    names[9] = &status_name;
    names[10] = &config_name;
    names[11] = &fast_name;
    names[12] = &environ_name;
    names[13] = &route_reader_name;
    names[14] = &file_wrapper_name;
    for (i = 0; i < 15; i++) {
        *names[i] = INTERNED(texts[i]);
        if (*names[i] == NULL)
            return NULL;
    }
    if (PyType_Ready(&ResponseType) < 0)
        return NULL;
    Py_INCREF(&ResponseType);
    if (PyModule_AddObject(module, "Response", (PyObject *)&ResponseType) < 0)
        return NULL;
    return module;
}

#if PY_MAJOR_VERSION >= 3
static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_wsgi_response", "sqreen.wsgi's response object, compiled.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__wsgi_response(void)
{
    return init_module(PyModule_Create(&moduledef));
}
#else
PyMODINIT_FUNC
init_wsgi_response(void)
{
    init_module(Py_InitModule3("_wsgi_response", module_methods, "sqreen.wsgi's response object, compiled."));
}
#endif
