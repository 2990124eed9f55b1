/* The AGI codec's one hot step in C: reading a plain answer.
 *
 * plain_answer(data) is asteramisk.agi.protocol._python_plain_bytes(data) for ASCII input:
 * data that is exactly "200 result=<value>[ (<data>)]\n" gives a protocol.Response; anything
 * else (another answer, several lines, a byte >= 0x80) gives None, and the caller reads the
 * bytes the general way. The property tests hold the two to the same answers.
 *
 * It reads only within the bytes object, makes no object but the Response and its strings,
 * and keeps no state but the Response type given once by use_response_type().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#define FIELDS 6
static const char *const FIELD_NAMES[FIELDS] = {"code", "line", "result", "data", "extra", "usage"};
static PyTypeObject *response_type = NULL;
static Py_ssize_t offsets[FIELDS]; /* where each field's slot is in a Response */
static PyObject *code_200, *empty_str;

static const char PREFIX[] = "200 result=";
#define PREFIX_LEN (sizeof(PREFIX) - 1)

/* str.isspace() for ASCII, which is what \s matches in a str pattern */
static inline int
is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static PyObject *
use_response_type(PyObject *Py_UNUSED(module), PyObject *type)
{
    /* The fields must be plain object slots (a dataclass with slots=True): plain_answer()
     * fills a new instance's slots directly, as the slot descriptors would. */
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "use_response_type() needs a class");
        return NULL;
    }
    Py_ssize_t found[FIELDS];
    for (int k = 0; k < FIELDS; k++) {
        PyObject *descr = PyObject_GetAttrString(type, FIELD_NAMES[k]);
        if (descr == NULL) {
            return NULL;
        }
        int usable = Py_IS_TYPE(descr, &PyMemberDescr_Type);
        if (usable) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            usable = member->type == T_OBJECT_EX && !(member->flags & READONLY);
            found[k] = member->offset;
        }
        Py_DECREF(descr);
        if (!usable) {
            PyErr_Format(PyExc_TypeError, "%R.%s is not a writable object slot", type,
                         FIELD_NAMES[k]);
            return NULL;
        }
    }
    memcpy(offsets, found, sizeof(offsets));
    Py_INCREF(type);
    Py_XSETREF(response_type, (PyTypeObject *)type);
    Py_RETURN_NONE;
}

static PyObject *
plain_answer(PyObject *Py_UNUSED(module), PyObject *arg)
{
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "plain_answer() needs bytes");
        return NULL;
    }
    if (response_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "use_response_type() was not called");
        return NULL;
    }
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t n = PyBytes_GET_SIZE(arg);
    if (n < (Py_ssize_t)PREFIX_LEN + 1 || s[n - 1] != '\n' || memcmp(s, PREFIX, PREFIX_LEN) != 0) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t k = PREFIX_LEN; k < n; k++) {
        if (s[k] >= 0x80) {
            Py_RETURN_NONE; /* not ASCII: left to the general way */
        }
    }
    Py_ssize_t i = PREFIX_LEN;
    while (!is_space(s[i]) && s[i] != '(' && s[i] != ')') {
        i++; /* stops at the latest on the final '\n' */
    }
    Py_ssize_t result_end = i, data_start = -1, data_end = -1;
    if (i != n - 1) {
        if (s[i] != ' ' || s[i + 1] != '(') { /* i + 1 <= n - 1: s[n - 1] is the '\n' */
            Py_RETURN_NONE;
        }
        data_start = i + 2;
        i = data_start;
        while (s[i] != '(' && s[i] != ')' && s[i] != '\n') {
            i++; /* stops at the latest on the final '\n' */
        }
        if (i != n - 2 || s[i] != ')') {
            Py_RETURN_NONE;
        }
        data_end = i;
    }

    PyObject *line = PyUnicode_DecodeASCII((const char *)s, n - 1, "strict");
    if (line == NULL) {
        return NULL;
    }
    PyObject *values[FIELDS] = {
        Py_NewRef(code_200),
        Py_NewRef(line),
        PyUnicode_Substring(line, PREFIX_LEN, result_end),
        data_start >= 0 ? PyUnicode_Substring(line, data_start, data_end) : Py_NewRef(Py_None),
        PyDict_New(),
        Py_NewRef(empty_str),
    };
    Py_DECREF(line);
    PyObject *response = NULL;
    int ok = 1;
    for (int k = 0; k < FIELDS; k++) {
        ok = ok && values[k] != NULL;
    }
    if (ok) {
        response = response_type->tp_alloc(response_type, 0); /* slots zeroed */
    }
    if (response == NULL) {
        for (int k = 0; k < FIELDS; k++) {
            Py_XDECREF(values[k]);
        }
        return NULL;
    }
    for (int k = 0; k < FIELDS; k++) {
        *(PyObject **)((char *)response + offsets[k]) = values[k]; /* the slot takes the ref */
    }
    return response;
}

static PyMethodDef methods[] = {
    {"plain_answer", plain_answer, METH_O,
     "A plain answer's Response, or None (see asteramisk.agi.protocol)."},
    {"use_response_type", use_response_type, METH_O, "The class plain_answer() makes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "asteramisk.agi._speedups",
    "The AGI codec's plain-answer step in C (optional; protocol.py has the same in Python).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if ((code_200 = PyLong_FromLong(200)) == NULL ||
        (empty_str = PyUnicode_FromStringAndSize("", 0)) == NULL) {
        return NULL;
    }
    return PyModule_Create(&module);
}
