"""Result files: the one place that writes and reads them, by job.

- `io`: strict JSON, the atomic writers, the output-path probes;
- `kinds`: the kinds of result (`KINDS`, `FORMATS`, `FILE_NAMES`) and what each must hold
  (`SPECS`, `validate`);
- `reader`: `load(path) -> Loaded(kind, path, content, frame())`, the one reader, and tables;
- `store`: the sweep's point files and `sweep.json` (sweep.py's store).

Every public name is re-exported here: `from .results import write_json` reads as before.
"""

from .kinds import (  # noqa: F401
    a_kind, ACC, CHECK, FILE_NAMES, FORMATS, identify, kind_of, KINDS, METHOD, PREDICTION,
    SPECS, SUMMARY_POINT, validate)
from .io import (  # noqa: F401
    atomic_file, atomic_files, dumps, plain, probe_dir, probe_file, save_npz, write_json,
    write_together)
from .reader import (  # noqa: F401
    ARRAYS_NEEDED, load, load_arrays, load_sweep, Loaded, lookup, read_result, save_arrays,
    table_rows)
from .store import (  # noqa: F401
    _canon, canonical_methods, _checksum, claim_sweep_dir, _unique, load_point, locked,
    POINT_FORMAT, point_key, RESULT_FIELDS, study, summarise, SUMMARY_EXTRA, without_grid,
    write_point, write_sweep_summary)
