"""Expands template.yaml with SAM's own transform, for linting.

Usage: sam-expand.py TEMPLATE OUTPUT.json

CodeUri values become placeholder S3 locations (nothing is built or
uploaded); everything else is translated as `sam deploy` would.
"""

import json
import os
import sys

from cfnlint.decode import decode_str
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template uses inline policies only; no managed policy lookups."""

    def load(self):
        return {}


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(source, encoding="utf-8") as handle:
        template, problems = decode_str(handle.read())
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://placeholder/code.zip"
    expanded = transform(template, {}, NoManagedPolicies())
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(expanded, handle, indent=1, default=str)
    print(f"expanded {source}: {len(expanded['Resources'])} CloudFormation resources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
