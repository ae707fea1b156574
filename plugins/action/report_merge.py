# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for certwarden.exchange.report_merge: the slices' report.json files in, one report out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ansible_collections.certwarden.exchange.plugins.modules import report_merge as module_doc
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.files import write_report
from ansible_collections.certwarden.exchange.plugins.plugin_utils._report.merge import MergeError, merge_reports
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import (
    CertwardenAction,
    ModuleFailure,
)


def read_slice(source: str) -> tuple[str, Any]:
    path = Path(source)
    if path.is_dir():
        path = path / "report.json"
    try:
        return source, json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModuleFailure(f"option src: cannot read {str(path)!r}: {error.strerror or error}") from None
    except ValueError:
        raise ModuleFailure(f"option src: {str(path)!r} is not JSON") from None


class ActionModule(CertwardenAction):
    MODULE = "report_merge"
    DOCUMENTATION = module_doc.DOCUMENTATION

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        try:
            document = merge_reports([read_slice(source) for source in params["src"]])
        except MergeError as error:
            raise ModuleFailure(f"option src: {error}") from None
        dest = Path(params["dest"])
        files: list[str] = []
        if not self.check_mode:
            try:
                files = [str(p) for p in write_report(document, dest, params["formats"])]
            except OSError as error:
                raise ModuleFailure(f"option dest: cannot write to {str(dest)!r}: {error.strerror or error}") from None
        return {"changed": not self.check_mode, "dest": str(dest), "files": files, "summary": document["summary"]}
