"""Benchmark scripts run end to end at a tiny scale (their full runs are in RESULTS.md)."""

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlnas.store import Store

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_proxy_correlation_runs_on_digits():
    out = run(
        "proxy_correlation.py", "--dataset", "digits", "--subset", "400", "--archs", "5",
        "--epochs", "3", "--final-epochs", "2", "--max-params", "20000", "--json",
    )  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert -1 <= result["spearman"] <= 1 and result["archs"] == 5
    assert 0 < result["best_final"] <= 1


@pytest.mark.slow
def test_proxy_correlation_ranks_measured_rows_without_retraining_them(tmp_path):
    # finals already measured (as the league's rows are) are taken, not trained again:
    # made-up test accuracies come back as the finals, in the rows' order
    rows = [("[C(16,3,1), P(2,2), C(16,3,1), SM(10)]", 0.91), ("[C(8,3,1), GAP(10)]", 0.42),
            ("[C(16,3,1), C(16,3,1), GAP(10)]", 0.77)]  # fmt: skip
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"arch": a, "test_acc": t}) + "\n" for a, t in rows))
    out = run(
        "proxy_correlation.py", "--rows", str(path), "--dataset", "digits", "--subset", "400",
        "--epochs", "2", "--shortlist-epochs", "1", "--batch-norm",
    )  # fmt: skip
    lines = out.strip().splitlines()
    assert [float(line.split()[2]) for line in lines[:3]] == [0.91, 0.42, 0.77]
    assert [line.split("  ")[-1] for line in lines[:3]] == [a for a, _ in rows]
    assert "shortlist val acc after 1 epochs" in lines[-1]
    # the deepest network has the best made-up final here: depth ranks them perfectly
    assert "rho(layers, final) = 1.000" in lines[-2]


@pytest.mark.slow
def test_the_league_spreads_q_learnings_epsilon_over_the_models_its_time_allows(tmp_path):
    """The models a run's minutes allow are measured as the entries run (two workers, the
    same rungs), so Q-learning's epsilon reaches 0.1 before the time is up."""
    args = [
        "--dataset", "digits", "--minutes", "0.3", "--seeds", "1", "--subset", "300",
        "--epochs", "2", "--final-epochs", "1", "--max-params", "20000",
        "--entries", "qlearning+mf", "--keep", str(tmp_path / "runs"),
        "--rows", str(tmp_path / "r.jsonl"),
    ]  # fmt: skip
    run("league.py", *args)
    (row,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert 10 <= row["schedule_models"] <= row["models"] and row["seconds_per_trial"] > 0
    with Store(tmp_path / "runs" / "qlearning+mf-0" / "trials.db") as store:
        epsilons = [t.info["epsilon"] for t in store.trials()]
    assert epsilons[0] == 1.0 and epsilons[-1] == 0.1


@pytest.mark.slow
def test_the_league_writes_rows_as_runs_finish_and_a_second_call_resumes(tmp_path):
    args = [
        "--dataset", "digits", "--minutes", "0.2", "--seeds", "1", "--subset", "300",
        "--epochs", "2", "--final-epochs", "1", "--max-params", "20000",
        "--entries", "random", "local+mf", "--keep", str(tmp_path / "runs"),
        "--rows", str(tmp_path / "rows.jsonl"),
    ]  # fmt: skip
    run("league.py", *args)
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [(r["entry"], r["seed"]) for r in rows] == [("random", 0), ("local+mf", 0)]
    assert all(0 < r["test_acc"] <= 1 and r["params"] <= 20_000 for r in rows)
    out = run("league.py", *args, "--plot", str(tmp_path / "league.png"))
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2  # nothing run again
    assert "| local+mf | 1 |" in out and (tmp_path / "league.png").stat().st_size > 0
    # a run that cannot end before --until (its minutes + the last final + 3) is not started
    soon = (datetime.datetime.now() + datetime.timedelta(minutes=2)).isoformat(timespec="minutes")
    out = run("league.py", *args, "--entries", "random", "evolution", "--until", soon)
    assert "no time for evolution, seed 0; stopped" in out
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2
    # a second pass, children trained with the strong recipe and a shortlist of each run's
    # best 2, beside the first in the same --keep: its own runs, rows and settings
    strong = ["--search-recipe", "strong", "--shortlist", "2", "--shortlist-epochs", "1"]
    second = [*args[:-1], str(tmp_path / "strong.jsonl"), "--entries", "random", *strong]
    run("league.py", *second)
    (row,) = [json.loads(line) for line in (tmp_path / "strong.jsonl").read_text().splitlines()]
    assert (row["search_recipe"], row["shortlist"], row["shortlist_epochs"]) == ("strong", 2, 1)
    assert row["shortlist_minutes"] > 0 and 0 < row["test_acc"] <= 1
    assert (tmp_path / "runs" / "random-0-strong-shortlist2" / "trials.db").exists()
    with Store(tmp_path / "runs" / "random-0-strong-shortlist2" / "trials.db") as store:
        assert len(store.shortlist()) == 2


def test_the_league_report_pairs_entries_by_seed(tmp_path):
    """Seeds that move every entry together: the means' intervals overlap, the paired
    differences are exact."""
    accs = {"random": (0.90, 0.95, 0.92), "evolution": (0.905, 0.95, 0.93)}
    accs["qlearning+mf"] = (0.91, 0.96, 0.93)
    rows = [
        {"entry": e, "seed": s, "test_acc": a, "params": 1, "models": 1, "search_minutes": 1}
        for e, seeds in accs.items() for s, a in enumerate(seeds)
    ]  # fmt: skip
    rows.pop()  # qlearning+mf has no seed 2: only seeds both ran are paired
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run("league.py", "--report", "--rows", str(tmp_path / "rows.jsonl"))
    assert "| qlearning+mf | 2 | 0.9350 ± 0.3177 |" in out
    assert "| qlearning+mf | +0.0100 ± 0.0000 (2 seeds) | +0.0075 ± 0.0318 (2 seeds) |" in out
    assert "| random | - | -0.0050 ± 0.0124 (3 seeds) |" in out


def test_curves_and_proxies_benchmarks_run_on_the_table(tmp_path):
    out = run("curves.py", "--fit", "20", "--json", str(tmp_path / "curves.json"))
    rows = json.loads((tmp_path / "curves.json").read_text())
    assert rows and all(r["rlnas (neighbour gain)"] < r["so far"] for r in rows[:3]), out
    run("proxies.py", "--sample", "40", "--seeds", "1", "--json", str(tmp_path / "p.json"))
    proxies = {r["proxy"]: r for r in json.loads((tmp_path / "p.json").read_text())}
    assert set(proxies) == {"params", "synflow", "naswot"}
    assert all(-1 <= r["spearman"] <= 1 for r in proxies.values())


def test_the_test_flip_benchmark_scores_one_model_both_ways(tmp_path):
    from rlnas.testing import write_image_folder

    data = write_image_folder(tmp_path / "bands")
    config = tmp_path / "c.toml"
    config.write_text(f'dataset = "folder:{data}"\n[train]\nbatch_size = 16\n')
    out = run(
        "test_flip.py", "--config", str(config), "--seeds", "0", "1", "--final-epochs", "1",
        "--json", "[C(4,3,1), P(2,2), SM(3)]",
    )  # fmt: skip
    result = json.loads(out.strip().splitlines()[-1])
    assert [r["seed"] for r in result["rows"]] == [0, 1]
    for r in result["rows"]:
        assert 0 < r["one_pass"] <= 1 and 0 < r["flipped"] <= 1
    gains = [r["flipped"] - r["one_pass"] for r in result["rows"]]
    assert result["mean_gain"] == pytest.approx(sum(gains) / 2)


def test_goal_runs_reads_what_a_run_found_and_how_its_shortlist_reordered_it(tmp_path):
    from scipy.stats import spearmanr

    from rlnas.arch import parse
    from rlnas.config import SearchConfig
    from rlnas.search import run_search
    from rlnas.spaces import make_space
    from rlnas.testing import FakeEvaluator

    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, seed=1, noise=0.08)
    config = SearchConfig(budget=40, seed=3, top_k=1, shortlist=6, run_dir=str(tmp_path / "r"))
    summary = run_search(config, evaluator=fake)
    out = run("goal_runs.py", str(tmp_path / "r"), "--wall", "12.5", "--json")
    (row,) = json.loads(out.strip().splitlines()[-1])
    final = summary.finals[0]
    assert row["seed"] == 3 and row["arch"] == final.arch and row["test_acc"] == final.test_acc
    assert row["trials"] == len(summary.trials) and row["wall_minutes"] == 12.5
    # the search's six best, best first, each with the score its shortlist training gave
    best = sorted({t.arch: t for t in reversed(summary.trials)}.values(),
                  key=lambda t: (-t.reward, t.id))[:6]  # fmt: skip
    assert row["search_val_acc"] == [t.result.val_acc for t in best]
    scores = [fake.score(parse(t.arch)) for t in best]
    assert row["shortlist_val_acc"] == pytest.approx(scores)
    assert row["winner_search_rank"] == 1 + scores.index(max(scores))
    expected = spearmanr(range(6, 0, -1), scores).statistic
    assert row["spearman_search_vs_shortlist"] == pytest.approx(expected)
    assert f"`{final.arch}`" in out and "12.5 min" in out
    assert "final_test_acc" not in row and "shortlist vs final" not in out


def test_goal_runs_tells_whether_the_shortlist_picked_the_best_of_its_finals(tmp_path):
    from dataclasses import replace

    from scipy.stats import spearmanr

    from rlnas.config import SearchConfig
    from rlnas.search import run_search
    from rlnas.spaces import make_space
    from rlnas.testing import FakeEvaluator

    space = make_space("metaqnn", input_shape=(1, 8, 8), num_classes=10)
    fake = FakeEvaluator(space, seed=1, noise=0.08)
    config = SearchConfig(budget=40, seed=3, top_k=1, shortlist=6, run_dir=str(tmp_path / "r"))
    first = run_search(config, evaluator=fake)
    (pick,) = first.finals
    # the study: the finished run resumed with a final for each of its shortlisted six
    summary = run_search(replace(config, top_k=6), resume=True, evaluator=fake)
    assert summary.trials == first.trials and summary.finals[0] == pick  # no search, pick kept
    out = run("goal_runs.py", str(tmp_path / "r"), "--json")
    (row,) = json.loads(out.strip().splitlines()[-1])
    tests = {f.arch: f.test_acc for f in summary.finals}
    best = sorted({t.arch: t for t in reversed(summary.trials)}.values(),
                  key=lambda t: (-t.reward, t.id))[:6]  # fmt: skip
    finals = [tests[t.arch] for t in best]
    assert len(set(finals)) > 1 and row["final_test_acc"] == finals
    assert row["test_acc"] == pick.test_acc
    expected = spearmanr(row["shortlist_val_acc"], finals).statistic
    assert row["spearman_shortlist_vs_final"] == pytest.approx(expected)
    expected = spearmanr(range(6, 0, -1), finals).statistic
    assert row["spearman_search_vs_final"] == pytest.approx(expected)
    assert row["pick_final_rank"] == 1 + sorted(finals, reverse=True).index(pick.test_acc)
    assert f"{max(finals):.2%}" in out and f"(no. {row['pick_final_rank']})" in out
