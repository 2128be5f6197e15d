"""Validates a CycloneDX 1.5 JSON document against the official schema.

usage: validate_cyclonedx.py SCHEMA_DIR DOCUMENT
SCHEMA_DIR holds the schema files as the CycloneDX project publishes them in its JavaScript
library's res/schema folder (bom-1.5, spdx and jsf-0.82, with .SNAPSHOT in their names).
"""
import json
import pathlib
import sys

import jsonschema


def main():
    schema_dir, document = pathlib.Path(sys.argv[1]), sys.argv[2]
    bom_schema = json.loads((schema_dir / "bom-1.5.SNAPSHOT.schema.json").read_text())
    store = {}
    for name in ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"]:
        # The bom schema refers to its neighbours relative to its own $id.
        store["http://cyclonedx.org/schema/" + name] = json.loads((schema_dir / name).read_text())
    resolver = jsonschema.RefResolver.from_schema(bom_schema, store=store)
    validator = jsonschema.Draft7Validator(
        bom_schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(json.load(open(document))), key=lambda e: list(e.path))
    for error in errors[:20]:
        print("at /%s: %s" % ("/".join(str(p) for p in error.path), error.message))
    if errors:
        print("%d schema errors in %s" % (len(errors), document))
        return 1
    print("%s is valid CycloneDX 1.5" % document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
