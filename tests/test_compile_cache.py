"""The persistent compilation cache of the `multiview` program: where it lives, how it is
switched off, and that a run served from it computes the numbers of a run that compiled."""

import json
import os
import subprocess
import sys
import time

from multiview.runtime import compile_cache_dir, use_compile_cache


def test_cache_dir_from_the_environment(tmp_path):
    assert compile_cache_dir({"MULTIVIEW_COMPILE_CACHE": str(tmp_path / "c")}) == tmp_path / "c"
    for off in ("off", "0", "no", "None"):
        assert compile_cache_dir({"MULTIVIEW_COMPILE_CACHE": off}) is None
    default = compile_cache_dir({"XDG_CACHE_HOME": str(tmp_path)})
    assert default.parent == tmp_path / "multiview" and default.name.startswith("xla-")
    # one directory per kind of machine, the same one every time on this machine
    assert compile_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == default


def test_a_users_own_jax_cache_setting_wins(tmp_path):
    env = {"MULTIVIEW_COMPILE_CACHE": str(tmp_path / "ours"),
           "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "theirs")}
    if "jax" in sys.modules:        # the variables are read when jax is imported: no effect now
        assert use_compile_cache(env) is None and env["JAX_COMPILATION_CACHE_DIR"].endswith("theirs")
    else:
        assert use_compile_cache(env) == tmp_path / "theirs"


def _check(tmp_path, name, env):
    out = tmp_path / name
    p = subprocess.run([sys.executable, "-m", "multiview", "check", "--preset", "tiny",
                        "--seeds", "2", "--methods", "single,ensemble,ntk_single",
                        "--no-progress", "--out", str(out)],
                       env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads((out / "check.json").read_text())


def test_second_run_reads_the_cache_and_computes_the_same_numbers(tmp_path):
    cache = tmp_path / "cache"
    # every program is kept, however fast it compiled: with the program's 0.1 s floor, one that
    # compiled just under it in the first run and just over it in the second (a loaded CI
    # machine) would be written by the second run only, and the listing below would differ
    env = {"MULTIVIEW_COMPILE_CACHE": str(cache), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    first = _check(tmp_path, "a", env)
    entries = sorted(p.name for p in cache.iterdir())
    assert any(e.startswith("jit__run_chunk") for e in entries)
    started = time.time_ns()
    second = _check(tmp_path, "b", env)
    assert second["methods"] == first["methods"]
    assert second["predictions"] == first["predictions"]
    # the second run compiled nothing new: the cache holds the same programs ...
    assert sorted(p.name for p in cache.iterdir()) == entries
    # ... and it read every one of them: JAX's cache stamps an entry's "-atime" file (the time in
    # ns, little-endian) when it serves it; a run that recompiled would leave the stamps alone
    stamps = {p.name: int.from_bytes(p.read_bytes(), "little") for p in cache.glob("*-atime")}
    unread = sorted(name for name, t in stamps.items() if t < started)
    assert stamps and not unread, f"entries the second run did not read: {unread}"


def test_switched_off_the_program_writes_no_cache(tmp_path):
    _check(tmp_path, "a", {"MULTIVIEW_COMPILE_CACHE": "off", "XDG_CACHE_HOME": str(tmp_path / "x"),
                           "HOME": str(tmp_path / "home")})
    assert not (tmp_path / "x").exists() and not (tmp_path / "home" / ".cache").exists()
