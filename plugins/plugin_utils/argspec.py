"""Build an Ansible argument spec from a module's DOCUMENTATION.

The modules of this collection are doc stubs run by action plugins. Deriving
the spec from the documentation (as ansible.utils does) means the docs and the
validation cannot drift: an option exists, has a type, a default, choices and
no_log exactly as `ansible-doc` shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

# Keys of a documented option that are also argument spec keys.
_COPIED_KEYS = ("type", "required", "default", "choices", "elements", "no_log", "aliases")


def option_spec(documented: Mapping[str, Any]) -> dict[str, Any]:
    """The argument spec entry for one documented option (recursing into suboptions)."""
    spec = {key: documented[key] for key in _COPIED_KEYS if key in documented}
    spec.setdefault("type", "str")
    suboptions = documented.get("suboptions")
    if suboptions:
        spec["options"] = {name: option_spec(sub) for name, sub in suboptions.items()}
    return spec


def argument_spec_from_doc(documentation: str) -> dict[str, dict[str, Any]]:
    """The argument spec of every option in a DOCUMENTATION YAML string."""
    doc = yaml.safe_load(documentation) or {}
    options = doc.get("options") or {}
    return {name: option_spec(documented) for name, documented in options.items()}
