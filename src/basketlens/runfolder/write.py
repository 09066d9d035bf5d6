"""Write a run folder atomically: everything goes into a hidden staging folder beside ``--out``,
which replaces the output folder in one step at the end; nothing is computed here.

* :func:`open_run_folder` — before any work: refuses an ``--out`` that would overwrite an input,
  checks that the folder can be written, takes the folder's lock (a second run into the same
  folder fails at once) and creates the staging folder. The caller writes there
  (:meth:`RunFolder.write`, then e.g. the report) and :meth:`RunFolder.commit` swaps it in. On
  an error, Ctrl-C or SIGTERM the staging folder is removed and the previous run stays intact;
  after a SIGKILL the next run into the folder removes it.
* :func:`write_tables` — the tables, the model and ``run.json`` into any folder, each stamped
  with the run id (sinks that upload a folder reuse it).
* :func:`write_run` — both in one call (``Analysis.write``).

The previous run is removed once the new one is in place (no ``OUT.previous`` is kept). A
folder that holds other files too (e.g. your input files beside the outputs, or ``--out .``)
cannot be swapped as a whole: the outputs are then moved in one by one, ``run.json`` last,
and the outputs of the previous run that the new one lacks are removed. Readers check that
every file carries the run id of ``run.json`` (see :mod:`basketlens.runfolder.read`).

Example:
    >>> with open_run_folder("out", inputs=["sales.csv"]) as folder:   # doctest: +SKIP
    ...     analysis = folder.write(analysis)        # tables, model/, run.json (staged)
    ...     render_report(analysis)                  # report files (staged)
    ...     final = folder.commit()                  # 'out' now holds this run, complete
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basketlens._signals import terminate_as_exit
from basketlens.errors import InputError
from basketlens.runfolder import atomic
from basketlens.runfolder.layout import MODEL_DIR, REPORT_FILES, RUN_JSON, TABLES
from basketlens.runfolder.model_io import save_model
from basketlens.runfolder.runid import new_run_id, write_table

if TYPE_CHECKING:
    from basketlens.backtest.stage import BacktestResult
    from basketlens.runfolder.analysis import Analysis

log = logging.getLogger(__name__)

__all__ = [
    "OUTPUT_NAMES",
    "RunFolder",
    "check_inputs",
    "check_out_dir",
    "jsonable",
    "lock_run_folder",
    "open_run_folder",
    "write_backtest",
    "write_run",
    "write_tables",
]

#: Every name a run may write at the top of its folder.
OUTPUT_NAMES: frozenset[str] = frozenset(
    [*(t.file for t in TABLES.values()), MODEL_DIR, RUN_JSON, *REPORT_FILES.values()]
)


# ------------------------------------------------------------------------------ checks
def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | os.X_OK)


def check_out_dir(path: Path) -> Path:
    """Create the output folder (and parents) and check it is writable — before any work.

    Raises :class:`InputError` for a path that is an existing file or not writable.
    """
    if path.exists() and not path.is_dir():
        raise InputError(f"output path {path} exists and is not a folder; choose another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {path}: {exc.strerror or exc}") from None
    if not _writable(path):
        raise InputError(f"output folder {path} is not writable; choose another --out")
    return path


def _local_files(inputs: Iterable[Any]) -> list[Path]:
    """The inputs that are files on this machine (frames and remote sources are skipped)."""
    files = []
    for raw in inputs:
        if isinstance(raw, str | os.PathLike) and "://" not in str(raw) and Path(raw).is_file():
            files.append(Path(raw))
    return files


def _previous_run(target: Path) -> bool:
    """True when ``target`` holds a run written by this basketlens (run.json with a run id)."""
    try:
        info = json.loads((target / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and bool(info.get("run_id"))


def check_inputs(out: str | Path, inputs: Iterable[Any]) -> None:
    """Refuse an output folder that would overwrite an input file — before any work.

    An input may not be one of the run's outputs (``customers.parquet``, ``model/``, …). When
    ``out`` is (or contains) the folder of an input, every output name must be free there,
    unless the folder holds an earlier basketlens run, whose outputs the new run replaces.

    Example:
        >>> check_inputs("d", ["d/customers.parquet"])   # doctest: +SKIP
        Traceback (most recent call last):
        basketlens.errors.InputError: input file d/customers.parquet would be overwritten: ...
    """
    out = Path(out)
    target = out.resolve()
    beside: list[Path] = []
    clash: list[str] = []
    for path in _local_files(inputs):
        resolved = path.resolve()
        if not resolved.is_relative_to(target):
            continue
        top = resolved.relative_to(target).parts[0]
        if top in OUTPUT_NAMES:
            clash.append(str(path))
        beside.append(path)
    if clash:
        raise InputError(
            f"input file{'s' if len(clash) > 1 else ''} {', '.join(clash)} would be overwritten: "
            f"the run writes files of those names to the output folder {out}; choose another "
            f"--out (e.g. {out / 'basketlens-out'})"
        )
    if not beside or not target.is_dir() or _previous_run(target):
        return
    taken = sorted(name for name in OUTPUT_NAMES if (target / name).exists())
    if taken:
        raise InputError(
            f"output folder {out} holds the input file {beside[0]} and also "
            f"{', '.join(taken)}, which the run would overwrite; choose another --out "
            f"(e.g. {out / 'basketlens-out'})"
        )


# ------------------------------------------------------------------------------ writing
def write_tables(analysis: Analysis, folder: str | Path, *, run_id: str) -> dict[str, Any]:
    """Write every table of ``analysis``, its model and ``run.json`` (last) into ``folder``.

    Every Parquet file carries ``run_id`` in its metadata, ``run.json`` and ``model.json`` too.
    Returns the run record written as ``run.json``.
    """
    folder = Path(folder)
    written: dict[str, str] = {}
    for key, spec in TABLES.items():
        table = getattr(analysis, key)
        if table is not None:
            write_table(table, folder / spec.file, run_id)
            written[key] = spec.file
    if analysis.model is not None:
        save_model(folder, analysis.model, run_id=run_id)
        written["model"] = f"{MODEL_DIR}/"
    info = {**analysis.info, "run_id": run_id, "files": {**written, "run": RUN_JSON}}
    tmp = folder / f".{RUN_JSON}.tmp"
    tmp.write_text(json.dumps(jsonable(info), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / RUN_JSON)
    log.info("wrote %d tables and %s to %s (run %s)", len(written), RUN_JSON, folder, run_id)
    return info


def write_run(analysis: Analysis, out: str | Path) -> Path:
    """Write ``analysis`` to the folder ``out`` atomically (see :func:`open_run_folder`).

    Example:
        >>> write_run(analysis, "out")      # doctest: +SKIP
        PosixPath('out')
    """
    inputs = [s.get("path") for s in analysis.info.get("inputs", []) if isinstance(s, dict)]
    with open_run_folder(out, inputs=inputs) as folder:
        folder.write(analysis)
        return folder.commit()


# ------------------------------------------------------------------------------ the swap
@dataclasses.dataclass(eq=False)
class RunFolder:
    """A run being written: ``staging`` is where to write, ``commit()`` puts it at ``out``.

    ``atomic`` is True when the whole folder is swapped in one step, False when ``out``
    holds other files too and the outputs are moved in one by one (``run.json`` last).
    """

    out: Path
    staging: Path
    run_id: str
    atomic: bool
    target: Path  # ``out`` resolved
    committed: bool = False

    def write(self, analysis: Analysis) -> Analysis:
        """Write the tables, the model and ``run.json`` into the staging folder; return the
        analysis with its ``info`` as written and ``out_dir`` = the staging folder."""
        info = write_tables(analysis, self.staging, run_id=self.run_id)
        return dataclasses.replace(analysis, info=info, out_dir=self.staging)

    def commit(self) -> Path:
        """Put the staged run in place of ``out`` (the last step of a run); return ``out``."""
        if self.committed:
            return self.out
        if not (self.staging / RUN_JSON).is_file():
            raise InputError(f"nothing to commit to {self.out}: {RUN_JSON} was not written")
        if self.atomic:
            self._swap()
        else:
            self._merge()
        self.committed = True
        log.info("run %s is now in %s", self.run_id, self.out)
        return self.out

    def _aside(self) -> Path:
        return self.staging.with_name(atomic.staging_name(self.target, self.run_id, old=True))

    def _swap(self) -> None:
        if not self.target.exists():
            os.rename(self.staging, self.target)
            return
        aside = self._aside()
        atomic.exchange(self.staging, self.target, aside)
        atomic.remove_tree(aside if aside.exists() else self.staging)

    def _merge(self) -> None:
        staged = {p.name for p in self.staging.iterdir()}
        for name in sorted(staged - {RUN_JSON}):
            self._move(self.staging / name, self.target / name)
        for name in sorted(OUTPUT_NAMES - staged):  # outputs of the previous run: stale
            if (self.target / name).exists() or (self.target / name).is_symlink():
                atomic.remove_tree(self.target / name)
        os.replace(self.staging / RUN_JSON, self.target / RUN_JSON)
        atomic.remove_tree(self.staging)

    def _move(self, source: Path, target: Path) -> None:
        if target.is_dir() and not target.is_symlink():
            if source.is_dir():
                aside = self._aside()
                atomic.exchange(source, target, aside)
                atomic.remove_tree(aside if aside.exists() else source)
                return
            atomic.remove_tree(target)
        elif source.is_dir() and (target.exists() or target.is_symlink()):
            target.unlink()
        os.replace(source, target)

    def relocate(self, value: Any) -> Any:
        """``value`` (a path, or a dataclass / tuple / dict holding paths) with paths in the
        staging folder pointing into ``out`` instead (e.g. the report's file list). Objects
        without such paths are returned as they are."""
        if isinstance(value, Path):
            if value.is_relative_to(self.staging):
                return self.out / value.relative_to(self.staging)
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {}
            for f in dataclasses.fields(value):
                old = getattr(value, f.name)
                if (new := self.relocate(old)) is not old:
                    changes[f.name] = new
            return dataclasses.replace(value, **changes) if changes else value
        if isinstance(value, tuple | list):
            items = [self.relocate(v) for v in value]
            changed = any(a is not b for a, b in zip(items, value, strict=True))
            return type(value)(items) if changed else value
        if isinstance(value, dict):
            moved = {k: self.relocate(v) for k, v in value.items()}
            return moved if any(moved[k] is not v for k, v in value.items()) else value
        return value


def _own_device(target: Path) -> bool:
    """True when ``target`` is on another file system than its parent (a mount point)."""
    try:
        return target.exists() and target.stat().st_dev != target.parent.stat().st_dev
    except OSError:
        return False


def _plan(target: Path, where: Path) -> bool:
    """True when ``target`` can be swapped as a whole (absent, or holding only outputs)."""
    if not target.exists():
        return True
    if where != target.parent:
        return False
    cwd = Path.cwd().resolve()
    if cwd == target or cwd.is_relative_to(target):
        return False  # renaming the current folder (or its parent) would strand the shell
    return all(p.name in OUTPUT_NAMES for p in target.iterdir())


def _recover(target: Path, where: Path) -> None:
    """Clean what an interrupted run into ``target`` left behind (the lock is held)."""
    for path in atomic.leftovers(where, target.name):
        if atomic.is_set_aside(path) and not target.exists():
            log.warning("restoring the previous run %s to %s", path.name, target)
            os.rename(path, target)
        else:
            log.info("removing %s left by an interrupted run", path)
            atomic.remove_tree(path)


@contextmanager
def open_run_folder(
    out: str | Path, *, inputs: Iterable[Any] = (), run_id: str | None = None
) -> Iterator[RunFolder]:
    """Prepare an atomic write of a run to ``out`` — before any work is done.

    Refuses (:class:`InputError`) an ``out`` that is a file, would overwrite an input
    (:func:`check_inputs`) or cannot be written; raises :class:`~.atomic.OutputLockedError`
    when another run is writing it. Yields a :class:`RunFolder`; when the block ends without
    an error, an uncommitted run is committed. On any error, Ctrl-C or SIGTERM the staging
    folder is removed and ``out`` keeps the previous run.
    """
    out = Path(out)
    target = out.resolve()
    if target.exists() and not target.is_dir():
        raise InputError(f"output path {out} exists and is not a folder; choose another --out")
    check_inputs(out, inputs)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    if target.exists() and not _writable(target):
        raise InputError(f"output folder {out} is not writable; choose another --out")
    if _writable(target.parent) and not _own_device(target):
        where = target.parent
    elif target.exists():
        where = target  # a writable folder in a read-only one, or a mount: stage inside, merge
    else:
        raise InputError(
            f"cannot create output folder {out}: {target.parent} is not writable; "
            "choose another --out"
        )
    lock = atomic.FolderLock(target, where=where).acquire()
    staging: Path | None = None
    try:
        _recover(target, where)
        run_id = run_id or new_run_id()
        staging = where / atomic.staging_name(target, run_id)
        try:
            staging.mkdir()
        except OSError as exc:
            raise InputError(
                f"cannot write to output folder {out}: {exc.strerror or exc}"
            ) from None
        folder = RunFolder(out, staging, run_id, _plan(target, where), target)
        with terminate_as_exit():
            yield folder
            folder.commit()
    finally:
        if staging is not None and staging.exists():
            atomic.remove_tree(staging)
        lock.release()


# ------------------------------------------------------------------------------ other writers
@contextmanager
def lock_run_folder(out: str | Path) -> Iterator[Path]:
    """Hold the lock of an existing output folder while adding files to it (``basketlens
    report`` re-rendering, a backtest): a run into the same folder cannot swap it meanwhile.

    Example:
        >>> with lock_run_folder("out") as folder:    # doctest: +SKIP
        ...     render_report(folder)
    """
    folder = Path(out)
    target = folder.resolve()
    if not target.is_dir():
        yield folder  # nothing to protect; the reader reports the missing folder
        return
    where = target.parent if _writable(target.parent) else target
    lock = atomic.FolderLock(target, where=where).acquire()
    try:
        with terminate_as_exit():
            yield folder
    finally:
        lock.release()


def write_backtest(result: BacktestResult, out: str | Path) -> Path:
    """Write a backtest's measures and every recommendation it made; return the measures file.

    Each table replaces its predecessor in one step. In a run folder the tables take the
    run's id (the backtest belongs to that run); elsewhere they get a new one.
    """
    folder = check_out_dir(Path(out))
    with lock_run_folder(folder):
        try:
            run_id = json.loads((folder / RUN_JSON).read_text(encoding="utf-8"))["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            run_id = new_run_id()
        for key, table in (
            ("backtest", result.table),
            ("backtest_recommendations", result.recommendations),
            ("backtest_calibration", result.calibration),
        ):
            path = folder / TABLES[key].file
            tmp = path.with_name(f".{path.name}.tmp")
            write_table(table, tmp, run_id)
            os.replace(tmp, path)
    return folder / TABLES["backtest"].file


def jsonable(value: Any) -> Any:
    """Convert tuples, paths, numpy scalars and dates into JSON-friendly values.

    Example:
        >>> jsonable({"k": (1, 2), "p": Path("a"), "x": float("nan")})
        {'k': [1, 2], 'p': 'a', 'x': None}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
