"""The base every certwarden action plugin stands on.

It does the three things every module here needs and no module should do by
itself: validate the task's arguments against the module's own DOCUMENTATION,
turn every expected failure into a clear ``msg`` (no traceback), and scrub
every ``no_log`` value from the result as a last line of defence.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Any, ClassVar

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    without_deprecation_notices,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.argspec import (
    argument_spec_from_doc,
    text_options_given_structures,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.plain import plain_values
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.warm_up import warm_probes, warm_up
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire import exchange_credential
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.agent_calls import StepFailed
from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import AgentError


class ModuleFailure(Exception):
    """A failure the user can act on; becomes ``failed: true`` and ``msg``.

    ``details`` are merged into the result (findings, the plan that was not
    applied, ...) so that a failed task still carries its evidence.
    """

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


@contextlib.contextmanager
def cycle_collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while the block runs (reference counting still frees memory).

    A task runs in a worker forked from the controller, which exits when the task is done. An
    analysis allocates enough objects to trigger collections, and a collection walks objects the
    worker inherited from the controller, copying every memory page it touches: 1-3 ms in a third
    of the tasks (docs/benchmarks.md). The few cycles made meanwhile are collected afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _WarmsOnceQueued(type(ActionBase)):  # ActionBase's own metaclass differs between ansible-core versions
    """Warm the engine in Ansible's main process when a strategy first queues an analysing task.

    Actions run in workers forked per host and task, so only what the main process did before the
    fork is shared (warm_up.py). The main process touches an action class at exactly one point: the
    linear and free strategies load it (``class_only``) and read its ``BYPASS_HOST_LOOP`` before
    queueing the task. That read, not the import, is the trigger: importing a plugin (ansible-doc,
    sanity, tests) does no work, and a worker, which reads the attribute through an instance, never
    warms. A strategy that does not read it only loses the optimisation.
    """

    @property
    def BYPASS_HOST_LOOP(cls) -> bool:
        if getattr(cls, "ANALYSES", False):
            warm_up()
        if getattr(cls, "PROBES", False):
            warm_probes()
        return False


class CertwardenAction(ActionBase, metaclass=_WarmsOnceQueued):
    """Validate, run :meth:`execute`, report.

    Subclasses set ``MODULE`` and ``DOCUMENTATION``, the latter imported from the module's own file so that
    the edge between an action and its documentation is a plain import every tool can follow.
    """

    MODULE: ClassVar[str] = ""
    DOCUMENTATION: ClassVar[str] = ""
    # True for the actions that analyse: the first time a strategy queues one, the engine is warmed.
    ANALYSES: ClassVar[bool] = False
    # True for the actions that probe endpoints: the first time a strategy queues one, the system's
    # trust bundle is parsed and the controller's EHLO name looked up, once for every worker.
    PROBES: ClassVar[bool] = False
    # Groups of options of which a task may give at most one (DOCUMENTATION cannot express it).
    MUTUALLY_EXCLUSIVE: ClassVar[list[list[str]]] = []

    TRANSFERS_FILES = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super().run(tmp, task_vars)
        del tmp  # no temporary directory is ever made on the target
        no_log_values: set[str] = set()
        try:
            with cycle_collection_paused(), without_deprecation_notices():
                params, no_log_values = self._validated_params()
                credential = exchange_credential.parse_variable(
                    self._templar.template((task_vars or {}).get(exchange_credential.VARIABLE))
                )
                if credential is not None:
                    no_log_values.add(credential["password"])
                exchange_credential.remember(self._connection, credential)
                result.update(self.execute(params, task_vars or {}))
        except (ModuleFailure, StepFailed) as failure:
            result.update(failure.details)
            result.update(failed=True, msg=str(failure))
        except AgentError as error:
            # A host we cannot talk to is unreachable, not failed: Ansible then
            # counts it apart (exit code 4, "unreachable" in the recap) and the
            # report can tell unreachable servers from drifting ones.
            outcome = "unreachable" if error.category == "connection" else "failed"
            result.update({outcome: True, "msg": f"{self.MODULE}: {error}"})
        except (AnsibleError, ValueError) as error:
            # Engine input errors (ValueError subclasses naming the option) and
            # transport errors (AnsibleError naming the host and operation).
            result.update(failed=True, msg=f"{self.MODULE}: {error}")
        return remove_values(result, no_log_values) if no_log_values else result

    def execute(self, params: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Do the module's work; raise :class:`ModuleFailure` for user errors."""
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Ansible imports action plugins in the controller process and forks a
        # worker per task: parsing the documentation here, once, means every
        # worker inherits the parsed spec instead of parsing it again.
        if cls.MODULE:
            if not cls.DOCUMENTATION:
                raise TypeError(f"{cls.__module__}: set DOCUMENTATION = <module {cls.MODULE}>.DOCUMENTATION")
            cls.argument_spec()

    @classmethod
    def argument_spec(cls) -> dict[str, dict[str, Any]]:
        return argument_spec_from_doc(cls.DOCUMENTATION)

    def _validated_params(self) -> tuple[dict[str, Any], set[str]]:
        spec = self.argument_spec()  # a fresh copy, which the validator may keep
        validator = ArgumentSpecValidator(spec, mutually_exclusive=self.MUTUALLY_EXCLUSIVE or None)
        args = plain_values(self._task.args)
        structured = text_options_given_structures(spec, args)
        if structured:
            raise ModuleFailure(f"{self.MODULE}: " + "; ".join(structured))
        validation = validator.validate(args)
        no_log_values = set(validation._no_log_values)
        if validation.error_messages:
            raise ModuleFailure(f"{self.MODULE}: " + "; ".join(validation.error_messages))
        return validation.validated_parameters, no_log_values

    @property
    def check_mode(self) -> bool:
        return bool(self._task.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._task.diff)
