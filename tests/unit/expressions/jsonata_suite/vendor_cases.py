"""Refresh ``cases.json``: a sample of the official JSONata test suite, as data.

Run from a checkout of https://github.com/jsonata-js/jsonata (MIT, see
LICENSE beside this file)::

    python vendor_cases.py /path/to/jsonata > cases.json

Datasets are inlined so each case stands alone. The groups sampled are the
ones Stepline's expressions lean on: paths, arithmetic, aggregation, strings,
higher-order functions, object and array construction, conditionals, errors.
"""

from __future__ import annotations

import json
import pathlib
import sys

GROUPS = (
    "array-constructor", "blocks", "boolean-expresssions", "comparison-operators", "conditionals",
    "default-operator", "coalescing-operator", "errors", "fields", "function-average", "function-count",
    "function-join", "function-keys", "function-length", "function-lowercase", "function-max",
    "function-merge", "function-number", "function-round", "function-split", "function-string",
    "function-substring", "function-sum", "function-uppercase", "function-tomillis", "function-fromMillis",
    "hof-filter", "hof-map", "hof-reduce", "lambdas", "literals", "missing-paths", "null",
    "numeric-operators", "object-constructor", "predicates", "range-operator", "simple-array-selectors",
    "sorting", "string-concat", "transforms", "variables", "wildcards",
)


def main(root: str) -> None:
    suite = pathlib.Path(root) / "test" / "test-suite"
    datasets: dict[str, object] = {}
    cases = []
    for group in GROUPS:
        for path in sorted((suite / "groups" / group).glob("case*.json")):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            for n, case in enumerate(loaded if isinstance(loaded, list) else [loaded]):
                if "dataset" in case and case.get("dataset") is not None and "data" not in case:
                    name = case["dataset"]
                    if name not in datasets:
                        datasets[name] = json.loads((suite / "datasets" / f"{name}.json").read_text("utf-8"))
                    case = {**case, "data": datasets[name]}
                case.pop("dataset", None)
                if "expr" not in case and "expr-file" in case:
                    case = {**case, "expr": (path.parent / case.pop("expr-file")).read_text("utf-8")}
                case_id = f"{group}/{path.stem}" + (f"/{n}" if isinstance(loaded, list) else "")
                cases.append({"id": case_id, **case})
    json.dump({"source": "https://github.com/jsonata-js/jsonata test/test-suite", "cases": cases},
              sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
