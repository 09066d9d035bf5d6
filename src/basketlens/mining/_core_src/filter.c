/*
 * The closed/maximal post-filter of basketlens.mining._core: closed_maximal().
 */
#include "core.h"

PyObject *py_closed_maximal(PyObject *self, PyObject *args) {
    PyObject *o_flat, *o_offsets, *o_counts, *o_table;
    if (!PyArg_ParseTuple(args, "OOOO", &o_flat, &o_offsets, &o_counts, &o_table)) return NULL;
    Index ix;
    PyObject *closed = NULL, *maximal = NULL;
    int32_t *buf = NULL;
    if (parse_index(&ix, o_flat, o_offsets, o_counts, o_table) < 0) goto fail;
    npy_intp dims[1] = {(npy_intp)ix.n};
    closed = PyArray_SimpleNew(1, dims, NPY_BOOL);
    maximal = PyArray_SimpleNew(1, dims, NPY_BOOL);
    if (!closed || !maximal) goto fail;
    const int32_t *flat = PyArray_DATA(ix.flat);
    const int64_t *offsets = PyArray_DATA(ix.offsets), *counts = PyArray_DATA(ix.counts);
    const int64_t *table = PyArray_DATA(ix.table);
    npy_bool *cl = PyArray_DATA((PyArrayObject *)closed), *mx = PyArray_DATA((PyArrayObject *)maximal);
    int64_t maxk = 0, n = ix.n, mask = ix.mask;
    int corrupt = 0;
    for (int64_t i = 0; i < n; i++)
        if (offsets[i + 1] - offsets[i] > maxk) maxk = offsets[i + 1] - offsets[i];
    if (!(buf = malloc(sizeof(int32_t) * (maxk + 1)))) {
        PyErr_NoMemory();
        goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    memset(cl, 1, sizeof(npy_bool) * (size_t)dims[0]); /* n >= 0: checked by parse_index */
    memset(mx, 1, sizeof(npy_bool) * (size_t)dims[0]);
    for (int64_t i = 0; i < n; i++) {
        const int32_t *s = flat + offsets[i];
        int64_t k = offsets[i + 1] - offsets[i];
        if (k < 2) continue;
        for (int64_t d = 0; d < k; d++) { /* every subset with one item dropped */
            memcpy(buf, s, sizeof(int32_t) * d);
            memcpy(buf + d, s + d + 1, sizeof(int32_t) * (k - d - 1));
            int64_t j = probe(table, mask, flat, offsets, n, buf, k - 1);
            if (j == PROBE_CORRUPT) corrupt = 1;
            if (j < 0) continue;
            mx[j] = 0;
            if (counts[j] == counts[i]) cl[j] = 0;
        }
    }
    Py_END_ALLOW_THREADS
    if (corrupt) {
        PyErr_SetString(PyExc_ValueError, CORRUPT_TABLE);
        goto fail;
    }
    free(buf);
    free_index(&ix);
    return Py_BuildValue("NN", closed, maximal);
fail:
    free(buf);
    free_index(&ix);
    Py_XDECREF(closed);
    Py_XDECREF(maximal);
    return NULL;
}
