"""``python -m tests.lab start|stop|serve`` (see docs/lab.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.lab.control import LabError, start_lab, start_lab_from, start_twin, stop_lab
from tests.lab.costs import ServerCosts
from tests.lab.scenarios import SCENARIO_DOCS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description="The simulated Windows + Exchange lab.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="build a scenario and start its servers in the background")
    start.add_argument("--dir", type=Path, default=Path(".lab"))
    start.add_argument("--scenario", default="field", choices=sorted(SCENARIO_DOCS))
    start.add_argument("--hosts", type=int, default=3, help="number of hosts (fleet scenario only)")
    start.add_argument("--https", action="store_true", help="serve WinRM over HTTPS (validated, lab CA in ca.pem)")
    start.add_argument(
        "--transports",
        action="store_true",
        help="add one host per way of connecting (groups transport_*; starts a private Kerberos KDC)",
    )
    start.add_argument("--inventory", type=Path, default=Path("inventories/lab/hosts.yml"))
    start.add_argument("--command-start-seconds", type=float, default=0.0, help="each powershell.exe start (sleep)")
    start.add_argument("--exchange-load-seconds", type=float, default=0.0, help="each Exchange cmdlet load (sleep)")
    start.add_argument(
        "--no-listeners", action="store_true", help="no SMTP/HTTPS listeners (WinRM only; for large fleets)"
    )
    start.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        help="serve the host folders in FROM (hosts/<name>/, orgs/<org>/, the documented format) instead of a scenario",
    )
    twin = commands.add_parser("twin", help="build a lab from cert_facts save_to files and start it")
    twin.add_argument("--facts", type=Path, required=True, help="the folder cert_facts save_to wrote")
    twin.add_argument("--dir", type=Path, default=Path(".twin"))
    twin.add_argument("--inventory", type=Path, default=None, help="default: <dir>/hosts.yml")
    stop = commands.add_parser("stop", help="stop the servers of a lab")
    stop.add_argument("--dir", type=Path, default=Path(".lab"))
    serve = commands.add_parser("serve", help="run the servers in the foreground (used by start)")
    serve.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            if args.hosts < 1:
                parser.error("--hosts must be at least 1")
            if args.from_dir is not None:
                lab = start_lab_from(args.from_dir, args.dir, args.inventory)
                print(f"lab: {len(lab.hosts)} hosts from {args.from_dir} running; inventory {lab.inventory_path}")
                lab.process = None
                return 0
            costs = ServerCosts(args.command_start_seconds, args.exchange_load_seconds)
            lab = start_lab(
                args.dir,
                args.scenario,
                hosts=args.hosts,
                https=args.https,
                inventory=args.inventory,
                costs=costs,
                transports=args.transports,
                listeners=not args.no_listeners,
            )
            print(
                f"lab: {args.scenario} with {len(lab.hosts)} hosts running (pid file {lab.dir / 'lab.pid'}); "
                f"inventory {lab.inventory_path}"
            )
            if args.transports:
                krb5_conf = lab.dir / "krb5" / "krb5.conf"
                print(f"lab: for the Kerberos hosts: export KRB5_CONFIG={krb5_conf}")
            lab.process = None  # the server outlives this command; `stop` ends it by its pid file
        elif args.command == "twin":
            lab = start_twin(args.facts, args.dir, args.inventory)
            print(f"lab: twin of {len(lab.hosts)} servers from {args.facts} running; inventory {lab.inventory_path}")
            lab.process = None
        elif args.command == "stop":
            if stop_lab(args.dir):
                print(f"lab: stopped the servers of {args.dir}")
            else:
                print(f"lab: no running lab in {args.dir} (no lab.pid)")
        else:
            from tests.lab.serve import serve as run_servers

            run_servers(args.dir.resolve())
    except LabError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
