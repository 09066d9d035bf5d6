/*
 * The FIMI tokenizer of basketlens.mining._core: parse_fimi().
 */
#include "core.h"

PyObject *py_parse_fimi(PyObject *self, PyObject *args) {
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    const unsigned char *p = view.buf;
    int64_t n = view.len, cap = n / 2 + 1, k = 0, row = 0, bad_line = 0, err = 0;
    int64_t *rows = malloc(sizeof(int64_t) * cap), *vals = malloc(sizeof(int64_t) * cap);
    if (!rows || !vals) {
        free(rows);
        free(vals);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    int64_t v = 0, digits = 0;
    for (int64_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? p[i] : '\n';
        if (c >= '0' && c <= '9') {
            v = v * 10 + (c - '0');
            if (++digits > 18) {
                err = 2;
                bad_line = row + 1;
                break;
            }
            continue;
        }
        if (digits) { /* a token ends; at most one per two bytes, so cap suffices */
            rows[k] = row;
            vals[k++] = v;
            v = 0;
            digits = 0;
        }
        if (c == '\n') row++;
        else if (c != ' ' && c != '\t' && c != '\r') {
            err = 1;
            bad_line = row + 1;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    /* the loop ends on a virtual newline: drop it when the file already ended with one */
    int64_t n_rows = n == 0 ? 0 : (p[n - 1] != '\n' ? row : row - 1);
    PyBuffer_Release(&view);
    PyObject *r = NULL, *vv = NULL;
    if (!err) {
        r = to_numpy(rows, k, NPY_INT64, sizeof(int64_t));
        vv = to_numpy(vals, k, NPY_INT64, sizeof(int64_t));
    }
    free(rows);
    free(vals);
    if (err) return Py_BuildValue("(OOLi)", Py_None, Py_None, (long long)bad_line, (int)err);
    if (!r || !vv) {
        Py_XDECREF(r);
        Py_XDECREF(vv);
        return NULL;
    }
    return Py_BuildValue("(NNLi)", r, vv, (long long)n_rows, 0);
}
