"""Print pip constraints that pin every declared minimum (runtime and test extra) of pyproject.toml."""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml").read_text())["project"]
requirements = project["dependencies"] + project["optional-dependencies"]["test"]
for requirement in requirements:
    match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?>=([0-9][^,;\s]*)", requirement.strip())
    if match is None:
        sys.exit(f"cannot pin {requirement!r}: declare each dependency as name>=version")
    print(f"{match[1]}=={match[2]}")
