/*
 * basketlens.mining._core -- the compiled frequent-itemset mining kernel.
 *
 * mine(indptr, indices, n_items, min_count, max_len, max_itemsets, strategy[, scratch_limit,
 *      max_memory]) -> (flat int32, offsets int64, counts int64, complete bool)
 *   Depth-first Eclat over the frequent items recoded by ascending frequency. Every node keeps
 *   either a tid-list (sorted basket ids) or a diffset relative to its parent (dEclat).
 *   strategy (a Strategy, core.h; STRATEGIES holds the names by value) 0 "auto": per branch,
 *   children by pairwise tid-list merges or by occurrence deliver (a cost model picks),
 *   switching dense branches to diffsets; 1 "eclat": merges; 2 "declat": diffsets from depth
 *   2 on; 3 "occurrence": two-pass occurrence deliver.
 *   All itemsets (length 1 included) are returned, each with its codes ascending; complete
 *   is False when more than max_itemsets exist (the output then holds the first
 *   max_itemsets found). max_len 0 = no limit but the data's (the search never goes deeper
 *   than the largest k with min_count baskets holding k frequent items); max_itemsets -1 =
 *   none; scratch_limit (tests only) caps the one-pass deliver buffer, -2 = automatic.
 *   max_memory: bytes every running mine() call may hold together (-1 = no limit; the search
 *   state and the output are charged before they are allocated); beyond it the search stops
 *   with MemoryBudgetExceeded(limit, peak, itemsets found, longest itemset). The search looks
 *   for signals every ~50 ms (taking the GIL briefly): Ctrl-C / SIGTERM raise as usual, and
 *   interrupt() stops every running call with KeyboardInterrupt. The output arrays take over
 *   the kernel's buffers (no copy).
 * memory_in_use() -> bytes held by the running mine() calls; interrupt() -> None.
 * parse_fimi(data: bytes) -> (rows, values, n_rows, 0) | (None, None, bad_line, err)
 *   Tokenizes a FIMI file (space-separated integers, one basket per line).
 * build_index(flat, offsets) -> int64 open-addressing hash table over the itemsets.
 * lookup(flat, offsets, counts, table, qflat, qoffsets) -> int64 counts (-1 = absent).
 * closed_maximal(flat, offsets, counts, table) -> (closed bool, maximal bool).
 * complete_linkage(n, u, v) -> int64 cluster labels, None when an edge repeats: see filter.c.
 * unit_counts(...), hypergeom_tail(...), row_matches(...): counting helpers, see counting.c.
 *   These three check that offsets start at 0, never decrease and end at len(flat), and that
 *   the table belongs to the itemsets (ValueError otherwise; nothing is read out of bounds).
 *
 * The GIL is released while mining and hashing, so scopes can be mined in parallel threads.
 */
#define BL_CORE_MODULE /* the unit that imports the numpy C API */
#include "core.h"

_Atomic int64_t bl_kernel_bytes = 0;
_Atomic int64_t bl_interrupts = 0;
static PyObject *MemoryBudgetExceeded = NULL;

PyArrayObject *as_array(PyObject *obj, int type, const char *name) {
    PyArrayObject *a = (PyArrayObject *)PyArray_FROMANY(obj, type, 1, 1, NPY_ARRAY_IN_ARRAY);
    if (!a) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be a 1-d array of %s", name,
                     type == NPY_INT32 ? "int32" : "int64");
    }
    return a;
}

PyObject *to_numpy(const void *data, int64_t n, int type, size_t itemsize) {
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *a = PyArray_SimpleNew(1, dims, type);
    if (a && n > 0) memcpy(PyArray_DATA((PyArrayObject *)a), data, itemsize * (size_t)n);
    return a;
}

/* NULL when every row is non-decreasing in indptr, in range, sorted and unique */
static const char *check_rows(const int64_t *indptr, const int32_t *indices, int64_t n_baskets,
                              int64_t n_items) {
    int64_t nnz = indptr[n_baskets];
    for (int64_t b = 0; b < n_baskets; b++) {
        if (indptr[b + 1] < indptr[b] || indptr[b + 1] > nnz)
            return "indptr must be non-decreasing";
        for (int64_t p = indptr[b]; p < indptr[b + 1]; p++) {
            if (indices[p] < 0 || indices[p] >= n_items) return "item code out of range";
            if (p > indptr[b] && indices[p] <= indices[p - 1])
                return "item codes must be sorted and unique within each basket";
        }
    }
    return NULL;
}

static void free_buffer(PyObject *capsule) {
    free(PyCapsule_GetPointer(capsule, "basketlens._core.buffer"));
}

/* A 1-d numpy array that owns *data (then set to NULL), shrunk to n items; NULL on error (and
 * *data still the caller's, unless it was handed over already). */
static PyObject *hand_over(void **data, int64_t n, int type, size_t itemsize) {
    void *fit = realloc(*data, itemsize * (size_t)(n > 0 ? n : 1));
    if (fit) *data = fit;
    PyObject *capsule = PyCapsule_New(*data, "basketlens._core.buffer", free_buffer);
    if (!capsule) return NULL;
    void *owned = *data;
    *data = NULL; /* the capsule frees it from here on */
    npy_intp dims[1] = {(npy_intp)n};
    PyObject *a = PyArray_SimpleNewFromData(1, dims, type, owned);
    if (!a) {
        Py_DECREF(capsule);
        return NULL;
    }
    if (PyArray_SetBaseObject((PyArrayObject *)a, capsule) < 0) { /* steals capsule */
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* the longest itemset of the output (for the budget message) */
static int64_t longest(const Out *o) {
    int64_t best = 0;
    for (int64_t i = 0; i < o->n; i++)
        if (o->offsets[i + 1] - o->offsets[i] > best) best = o->offsets[i + 1] - o->offsets[i];
    return best;
}

PyObject *py_mine(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"indptr",   "indices",       "n_items",    "min_count",
                             "max_len",  "max_itemsets",  "strategy",   "scratch_limit",
                             "max_memory", NULL};
    PyObject *o_indptr, *o_indices;
    long long n_items, min_count, max_itemsets;
    long long scratch_limit = -2; /* testing hook: -2 = automatic */
    long long max_memory = -1;
    int max_len, strategy;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOLLiLi|LL", kwlist, &o_indptr, &o_indices,
                                     &n_items, &min_count, &max_len, &max_itemsets, &strategy,
                                     &scratch_limit, &max_memory))
        return NULL;
    if (min_count < 1 || n_items < 0 || max_len < 0 || strategy < 0 ||
        strategy >= N_STRATEGIES || max_memory < -1) {
        PyErr_SetString(PyExc_ValueError, "invalid mining parameters");
        return NULL;
    }
    PyArrayObject *a_indptr = as_array(o_indptr, NPY_INT64, "indptr");
    if (!a_indptr) return NULL;
    PyArrayObject *a_indices = as_array(o_indices, NPY_INT32, "indices");
    if (!a_indices) {
        Py_DECREF(a_indptr);
        return NULL;
    }
    const int64_t *indptr = PyArray_DATA(a_indptr);
    const int32_t *indices = PyArray_DATA(a_indices);
    int64_t n_baskets = PyArray_SIZE(a_indptr) - 1, nnz = PyArray_SIZE(a_indices);
    const char *bad = NULL;
    if (n_baskets < 0 || indptr[0] != 0 || indptr[n_baskets] != nnz)
        bad = "indptr must start at 0 and end at len(indices)";
    else if (n_baskets >= INT32_MAX)
        bad = "too many baskets (at most 2**31 - 2)";
    else {
        Py_BEGIN_ALLOW_THREADS
        bad = check_rows(indptr, indices, n_baskets, n_items);
        Py_END_ALLOW_THREADS
    }
    if (bad) {
        Py_DECREF(a_indptr);
        Py_DECREF(a_indices);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Miner M;
    memset(&M, 0, sizeof(M));
    M.min_count = min_count;
    M.max_itemsets = max_itemsets;
    M.max_len = max_len;
    M.strategy = (Strategy)strategy;
    M.scratch_limit = scratch_limit;
    M.budget.limit = max_memory;
    M.arena.budget = &M.budget;
    M.nodes.budget = &M.budget;
    M.interrupt_gen = atomic_load(&bl_interrupts);
    int rc;
    if (out_init(&M.out, &M.budget) < 0) {
        rc = M.budget.exceeded ? STATUS_BUDGET : STATUS_NOMEM;
    } else {
        Py_BEGIN_ALLOW_THREADS
        rc = run_mine(&M, indptr, indices, n_baskets, n_items);
        Py_END_ALLOW_THREADS
    }
    Py_DECREF(a_indptr);
    Py_DECREF(a_indices);
    budget_free(&M.budget, M.arena.data, (int64_t)sizeof(int32_t) * M.arena.cap);
    budget_free(&M.budget, M.nodes.data, (int64_t)sizeof(Node) * M.nodes.cap);
    if (rc != STATUS_OK && rc != STATUS_ITEMSETS) {
        int64_t found = M.out.n, length = M.out.offsets ? longest(&M.out) : 0;
        out_free(&M.out);
        if (rc == STATUS_INTERRUPTED) {
            if (M.exc_type) PyErr_Restore(M.exc_type, M.exc_value, M.exc_tb);
            else PyErr_SetString(PyExc_KeyboardInterrupt, "mining interrupted");
            return NULL;
        }
        if (rc == STATUS_BUDGET) {
            PyObject *v = Py_BuildValue("(LLLL)", (long long)M.budget.limit,
                                        (long long)M.budget.peak, (long long)found,
                                        (long long)length);
            if (v) {
                PyErr_SetObject(MemoryBudgetExceeded, v);
                Py_DECREF(v);
            }
            return NULL;
        }
        return PyErr_NoMemory();
    }
    /* the output leaves the kernel: the numpy arrays own its buffers from here on */
    budget_give(&M.budget, M.budget.used);
    int64_t n = M.out.n, nflat = M.out.nflat;
    PyObject *flat = hand_over((void **)&M.out.flat, nflat, NPY_INT32, sizeof(int32_t));
    PyObject *offs = hand_over((void **)&M.out.offsets, n + 1, NPY_INT64, sizeof(int64_t));
    PyObject *cnts = hand_over((void **)&M.out.counts, n, NPY_INT64, sizeof(int64_t));
    M.out.budget = NULL; /* already given back */
    out_free(&M.out);    /* whatever was not handed over */
    if (!flat || !offs || !cnts) {
        Py_XDECREF(flat);
        Py_XDECREF(offs);
        Py_XDECREF(cnts);
        return NULL;
    }
    return Py_BuildValue("NNNO", flat, offs, cnts, rc == STATUS_OK ? Py_True : Py_False);
}

static PyObject *py_memory_in_use(PyObject *self, PyObject *unused) {
    return PyLong_FromLongLong((long long)atomic_load(&bl_kernel_bytes));
}

static PyObject *py_interrupt(PyObject *self, PyObject *unused) {
    atomic_fetch_add(&bl_interrupts, 1);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse_fimi", py_parse_fimi, METH_VARARGS,
     "parse_fimi(data: bytes) -> (rows, values, n_rows, 0) or (None, None, bad_line, err)"},
    {"mine", (PyCFunction)(void (*)(void))py_mine, METH_VARARGS | METH_KEYWORDS,
     "mine(indptr, indices, n_items, min_count, max_len, max_itemsets, strategy,"
     " scratch_limit=-2, max_memory=-1) -> (flat, offsets, counts, complete)"},
    {"memory_in_use", py_memory_in_use, METH_NOARGS,
     "memory_in_use() -> bytes held by the running mine() calls"},
    {"interrupt", py_interrupt, METH_NOARGS,
     "interrupt() -> None: stop every running mine() call (KeyboardInterrupt)"},
    {"build_index", py_build_index, METH_VARARGS, "build_index(flat, offsets) -> table"},
    {"lookup", py_lookup, METH_VARARGS,
     "lookup(flat, offsets, counts, table, query_flat, query_offsets) -> counts"},
    {"closed_maximal", py_closed_maximal, METH_VARARGS,
     "closed_maximal(flat, offsets, counts, table) -> (closed, maximal)"},
    {"unit_counts", py_unit_counts, METH_VARARGS,
     "unit_counts(indptr, indices, n_items, units, n_units, flat, offsets[, max_bytes])"
     " -> counts"},
    {"hypergeom_tail", py_hypergeom_tail, METH_VARARGS,
     "hypergeom_tail(term, k, a, b, rest, kmin, kmax, up) -> None (term becomes the sum)"},
    {"complete_linkage", py_complete_linkage, METH_VARARGS,
     "complete_linkage(n, u, v) -> int64 cluster labels, or None when an edge repeats"},
    {"row_matches", py_row_matches, METH_VARARGS,
     "row_matches(indptr, indices, n_cols, rows, flat, offsets[, max_bytes]) -> (row, set)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_core", "Compiled frequent-itemset mining kernel of basketlens.", -1,
    methods,
};

/* strategy names by Strategy value: the Python side maps algorithm names through these */
static const char *const strategy_names[N_STRATEGIES] = {
    [STRATEGY_AUTO] = "auto",
    [STRATEGY_ECLAT] = "eclat",
    [STRATEGY_DECLAT] = "declat",
    [STRATEGY_OCCURRENCE] = "occurrence",
};

PyMODINIT_FUNC PyInit__core(void) {
    import_array();
    PyObject *m = PyModule_Create(&moduledef);
    if (!m) return NULL;
    PyObject *names = PyTuple_New(N_STRATEGIES);
    if (!names) goto fail;
    for (int i = 0; i < N_STRATEGIES; i++) {
        PyObject *name = PyUnicode_FromString(strategy_names[i]);
        if (!name) {
            Py_DECREF(names);
            goto fail;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    if (PyModule_AddObject(m, "STRATEGIES", names) < 0) {
        Py_DECREF(names);
        goto fail;
    }
    MemoryBudgetExceeded = PyErr_NewExceptionWithDoc(
        "basketlens.mining._core.MemoryBudgetExceeded",
        "mine() would exceed max_memory; args: (limit, peak bytes, itemsets found, longest)",
        PyExc_MemoryError, NULL);
    if (!MemoryBudgetExceeded) goto fail;
    Py_INCREF(MemoryBudgetExceeded);
    if (PyModule_AddObject(m, "MemoryBudgetExceeded", MemoryBudgetExceeded) < 0) {
        Py_DECREF(MemoryBudgetExceeded);
        goto fail;
    }
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
