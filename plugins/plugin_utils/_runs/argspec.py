"""Build an Ansible argument spec from a module's DOCUMENTATION.

The modules of this collection are doc stubs run by action plugins. Deriving
the spec from the documentation (as ansible.utils does) means the docs and the
validation cannot drift: an option exists, has a type, a default, choices and
no_log exactly as `ansible-doc` shows it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml

# Keys of a documented option that are also argument spec keys.
_COPIED_KEYS = ("type", "required", "default", "choices", "elements", "aliases")


def is_secret(name: str) -> bool:
    """Whether an option holds a secret.

    DOCUMENTATION has no ``no_log`` key (validate-modules rejects it), so the
    rule lives here, by name, for every module at once: ``password``,
    ``passphrase`` and anything ending in ``_password`` is never logged.
    """
    return name in ("password", "passphrase") or name.endswith(("_password", "_passphrase"))


def option_spec(name: str, documented: Mapping[str, Any]) -> dict[str, Any]:
    """The argument spec entry for one documented option (recursing into suboptions)."""
    spec = {key: documented[key] for key in _COPIED_KEYS if key in documented}
    spec.setdefault("type", "str")
    if is_secret(name):
        spec["no_log"] = True
    suboptions = documented.get("suboptions")
    if suboptions:
        spec["options"] = {sub_name: option_spec(sub_name, sub) for sub_name, sub in suboptions.items()}
    return spec


# libyaml's loader when PyYAML has it: the pure-Python one costs ~45 ms per
# task here, more than the rest of a check-mode task's controller work.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _parsed_options(documentation: str) -> dict[str, dict[str, Any]]:
    doc = yaml.load(documentation, Loader=_LOADER) or {}  # noqa: S506 - a safe loader, C or Python
    options = doc.get("options") or {}
    return {name: option_spec(name, documented) for name, documented in options.items()}


def argument_spec_from_doc(documentation: str) -> dict[str, dict[str, Any]]:
    """The argument spec of every option in a DOCUMENTATION YAML string (parsed once per process)."""
    return copy.deepcopy(_parsed_options(documentation))


def text_options_given_structures(
    spec: Mapping[str, Mapping[str, Any]], args: Mapping[str, Any], prefix: str = ""
) -> list[str]:
    """One message per ``type: str`` option whose value is a mapping or a list.

    Ansible's validator turns such a value into its ``repr`` without a word (a password of
    ``{a: 1}`` becomes the text ``{'a': 1}``, and its no_log handling then masks every ``1`` in
    the output). A secret's value is never quoted.
    """
    messages = []
    for name, option in spec.items():
        value = args.get(name) if isinstance(args, Mapping) else None
        path = f"{prefix}{name}"
        if option.get("type") == "str" and isinstance(value, (Mapping, list)):
            kind = "a mapping" if isinstance(value, Mapping) else "a list"
            shown = "(a secret, not shown)" if option.get("no_log") else repr(value)
            messages.append(f"option {path}: expected a string, got {kind} {shown}")
        elif option.get("options") and isinstance(value, Mapping):
            messages.extend(text_options_given_structures(option["options"], value, f"{path}."))
    return messages
