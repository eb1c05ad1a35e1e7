"""``yikatong app`` (the desktop app) and ``yikatong demo`` (the app on an embedded registry)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from pathlib import Path

from enrollment.private_files import private_dir
from registry.launcher import CHILD_FLAGS, RegistryProcess, cli_command
from resources import path as resource_path
from resources import user_data_dir

from .main import CliError

DEMO_VILLAGE = "510903102201"
DEMO_VILLAGE_NAME = "大石村"
DEMO_PASSWORD = "yikatong-demo"


def register(sub) -> None:
    app = sub.add_parser("app", help="start the desktop app")
    app.add_argument("--store", type=Path, default=None, help="the laptop store file (default: user data folder)")
    app.add_argument("--registry", default=None, help="registry address shown at login")
    app.add_argument("--smoke", action="store_true",
                     help="show the login window, print a line saying so and exit (installer checks)")
    app.set_defaults(handler=_app)

    demo = sub.add_parser("demo", help="start the desktop app on an embedded registry with a demo village")
    demo.add_argument("--data-dir", type=Path, default=None, help="where the demo keeps its files")
    demo.add_argument("--port", type=int, default=0,
                      help="the demo registry's port on 127.0.0.1 (default 0: a free one, printed at start)")
    demo.add_argument("--no-app", action="store_true", help="only run the registry (for scripted checks)")
    demo.set_defaults(handler=_demo)


def _app(args) -> int:
    from desktop.app import main as app_main

    store = args.store or user_data_dir() / "laptop.sqlite3"
    private_dir(store.parent)
    return app_main(store_path=str(store), registry_url=args.registry, smoke=args.smoke)


def _cli(*argv: str, stdin: str | None = None) -> None:
    """Run our own CLI in a child process: the demo sets up through the same commands a person would."""
    done = subprocess.run(cli_command(*argv), input=stdin, text=True, capture_output=True,
                          creationflags=CHILD_FLAGS)
    if done.returncode != 0:
        raise CliError("demo.setup_failed", done.stderr.strip().splitlines()[-1] if done.stderr else argv[1])


def _cli_json(*argv: str, stdin: str | None = None) -> dict:
    done = subprocess.run(cli_command(*argv, "--json"), input=stdin, text=True, capture_output=True,
                          creationflags=CHILD_FLAGS)
    if done.returncode != 0:
        raise CliError("demo.setup_failed", done.stderr.strip().splitlines()[-1] if done.stderr else argv[1])
    return json.loads(done.stdout)


DEMO_DATASETS = ("deaths", "business", "vehicles", "courts")


def seed_demo_registry(db_url: str) -> None:
    """Operators, the demo roster and department datasets; safe to run again (a second run changes nothing)."""
    roster = resource_path("demo", f"roster_{DEMO_VILLAGE}.csv")
    _cli("registry", "import-roster", str(roster), "--village", DEMO_VILLAGE,
         "--village-name", DEMO_VILLAGE_NAME, "--db", db_url)
    for kind in DEMO_DATASETS:
        _cli("registry", "import-dataset", kind, str(resource_path("demo", "datasets", f"{kind}.csv")), "--db", db_url)
    # Two staff members: whoever approves a record may not also mark its card issued (issue 10).
    for username, role, extra in (("cadre", "cadre", ["--village", DEMO_VILLAGE]),
                                  ("cadre2", "cadre", ["--village", DEMO_VILLAGE]), ("central", "central", []),
                                  ("issuer", "central", [])):
        done = subprocess.run(
            cli_command("registry", "add-operator", "--username", username, "--role", role, "--db", db_url, *extra),
            input=DEMO_PASSWORD + "\n", text=True, capture_output=True, creationflags=CHILD_FLAGS)
        if done.returncode != 0 and "operator.username_taken" not in done.stderr:
            raise CliError("demo.setup_failed", done.stderr.strip())


DEMO_PAID_ITEM, DEMO_PAID_PERIOD = "elderly_allowance", "202612"
# The bank's answer to the demo's first batch: two paid, one account closed (a failure the cadre's laptop shows).
DEMO_BANK_ANSWER = {"杨小红": ("成功", ""), "林玉梅": ("成功", ""), "周芳": ("失败", "账户已销户")}


def seed_demo_payments(db_url: str, data_dir: Path) -> None:
    """Once per demo folder, through the commands a county runs: the card bank's file, two departments' rosters
    (their planted ineligible lines wait in 支付拦截), and one 高龄津贴 batch built by central, approved by issuer,
    exported and answered by the bank, so the dashboard has payments and the cadre's laptop a failed one. The
    other ready lines are left for the person trying the demo to batch."""
    bank_dir, work = data_dir / "demo-bank", data_dir / "demo-bank.partial"
    if bank_dir.exists() or work.exists():   # done, or stopped halfway: a second batch would find nothing to pay
        return
    staff = DEMO_PASSWORD + "\n"
    _cli("registry", "import-cards", str(resource_path("demo", "cards.csv")), "--db", db_url)
    for department in ("民政局", "残联"):
        _cli("registry", "import-entitlements", str(resource_path("demo", f"entitlements_{department}.csv")),
             "--department", department, "--as", "central", "--db", db_url, stdin=staff)
    work.mkdir()
    built = _cli_json("registry", "payments", "batch", "--item", DEMO_PAID_ITEM, "--period", DEMO_PAID_PERIOD,
                      "--as", "central", "--db", db_url, stdin=staff)
    _cli("registry", "payments", "approve", built["id"], "--as", "issuer", "--db", db_url, stdin=staff)
    bank_file = work / "代发.csv"
    _cli("registry", "payments", "export", built["id"], "-o", str(bank_file), "--db", db_url)
    with bank_file.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[2:]   # the summary line and the column titles first
    answer = work / "回盘.csv"
    with answer.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["reference", "status", "reason"])
        for reference, name, *_rest in rows:
            out.writerow([reference, *DEMO_BANK_ANSWER.get(name, ("成功", ""))])
    _cli("registry", "payments", "import-results", str(answer), "--as", "central", "--db", db_url, stdin=staff)
    work.rename(bank_dir)


def seed_demo_enrollments(url: str, db_url: str, data_dir: Path) -> None:
    """Once per demo folder: a second cadre's laptop enrolls ten residents and syncs, so the central
    workspace has a queue (the registry's checks find a deceased resident, a company owner, a car
    owner and a dishonest debtor among them), and a third laptop enrolls one of them again (same ID)."""
    store = data_dir / "second-laptop.sqlite3"
    if store.exists():
        return
    _cli("field", "login", "--store", str(store), "--registry", url, "--username", "cadre2", stdin=DEMO_PASSWORD + "\n")
    _cli("field", "enroll", "--store", str(store), "--from",
         str(resource_path("demo", f"enrollments_{DEMO_VILLAGE}.csv")), "--confirm-region-warnings")
    _cli("field", "sync", "--store", str(store))
    # A third laptop enrolls one of those residents again (another address): the same-ID case central
    # staff compare side by side.
    third = data_dir / "third-laptop.sqlite3"
    _cli("field", "login", "--store", str(third), "--registry", url, "--username", "cadre", stdin=DEMO_PASSWORD + "\n")
    _cli("field", "enroll", "--store", str(third), "--from",
         str(resource_path("demo", f"same_id_{DEMO_VILLAGE}.csv")), "--confirm-region-warnings")
    _cli("field", "sync", "--store", str(third))
    # Routed before the demo says it is ready, so the first login already sees the queue.
    _cli("registry", "run-checks", "--db", db_url)


def _demo(args) -> int:
    data_dir = args.data_dir or user_data_dir() / "demo"
    private_dir(data_dir)  # owner only: the demo's registry, laptop store and crash reports
    db_url = f"sqlite:///{data_dir / 'registry.sqlite3'}"
    # A SIGTERM (a closed terminal, a test ending the demo) must stop the embedded registry too:
    # Python's default action would end this process without running the ``finally`` below. While
    # the app runs, desktop.termination takes over (Qt's idle event loop would delay this handler).
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(0))
    seed_demo_registry(db_url)
    seed_demo_payments(db_url, data_dir)
    # Two processes on the one database, as in production: the registry (staff, laptops) and the public
    # verification process (only the worker's page and its API, ``registry serve-verify``), which the
    # registry's links point at. Loopback only: a link opens on this machine; in production the public
    # process sits behind an HTTPS reverse proxy (the phone's camera needs a secure context).
    # --exit-with-parent: if this process dies anyway (SIGKILL, a crash), both follow.
    # Its SMS codes (the residents' self-query page, /query) go to a file in the demo's folder.
    public = RegistryProcess(db_url, data_dir, command="serve-verify", log_name="verify.log",
                             extra_args=["--sms-gateway", "file", "--sms-file", str(data_dir / "sms.jsonl")])
    reg = RegistryProcess(db_url, data_dir, port=args.port)
    try:
        try:
            public.start()
            reg.extra_args = ["--verify-public-url", public.url]
            reg.start()
        except RuntimeError as exc:
            raise CliError("demo.registry_failed", str(exc)) from exc
        url = reg.url
        seed_demo_enrollments(url, db_url, data_dir)
        print(f"registry: {url}  (log: {reg.log_path})", flush=True)
        print(f"verify: {public.url}  (remote verification links open here, on this machine only; "
              f"log: {public.log_path})", flush=True)
        print(f"self-query: {public.url}/query  (SMS codes are written to {data_dir / 'sms.jsonl'})", flush=True)
        print(f"login: cadre / {DEMO_PASSWORD}  ·  central / {DEMO_PASSWORD}  ·  issuer / {DEMO_PASSWORD}",
              flush=True)
        if args.no_app:
            reg.proc.wait()
            return 0
        from desktop.app import main as app_main

        return app_main(store_path=str(data_dir / "laptop.sqlite3"), registry_url=url)
    finally:
        reg.stop()
        public.stop()
