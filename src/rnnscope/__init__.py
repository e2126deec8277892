"""rnnscope: a laboratory for how recurrent networks learn long time scales.

From Python: ``rnnscope.run(spec)`` trains a spec, ``rnnscope.load(run)``
returns its members (or trajectories) as a DataFrame or DuckDB relation,
``rnnscope.write_report(run)`` writes its HTML report.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # the API imports JAX lazily, so `import rnnscope` stays cheap
    if name in ("run", "load", "write_report"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'rnnscope' has no attribute {name!r}")
