"""The results document (``bench/results/latest.json``) and the table printed at the end of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.baselines import LimitResult, NaiveResult
from bench.measure import percentile
from bench.passes import PassResult

TARGETS = {  # key -> (comparison, threshold, what it means)  (issue 13)
    "fraction_of_limit": (">=", 0.95, "a pass reaches 0.95 of the CPU limit"),
    "speedup_vs_naive": (">=", 4.0, "a pass is 4x the naive loop"),
    "peak_rss_mb": ("<=", 1024.0, "peak RSS at most 1 GB (for 5,000 articles)"),
    "alert_latency_from_fetch_p95_s": ("<", 1.0, "alert p95 under 1 s from page fetch to webhook"),
}


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def latency_figures(result: PassResult) -> dict[str, Any]:
    return {
        "corpus_articles": result.articles,
        "alerts_delivered": len(result.latency_from_write_s),
        "from_write_p50_s": _r(percentile(result.latency_from_write_s, 0.5)),
        "from_write_p95_s": _r(percentile(result.latency_from_write_s, 0.95)),
        "from_pass_start_p50_s": _r(percentile(result.latency_from_pass_start_s, 0.5)),
        "from_pass_start_p95_s": _r(percentile(result.latency_from_pass_start_s, 0.95)),
        "from_fetch_p50_s": _r(percentile(result.latency_from_fetch_s, 0.5)),
        "from_fetch_p95_s": _r(percentile(result.latency_from_fetch_s, 0.95)),
        "legs_p50_s": {leg: _r(percentile(values, 0.5)) for leg, values in result.legs_s.items()},
        "legs_p95_s": {leg: _r(percentile(values, 0.95)) for leg, values in result.legs_s.items()},
    }


def build_results(
    *,
    size: str,
    corpus: dict[str, Any],
    main: PassResult,
    scaling: dict[str, PassResult],
    ner_first: PassResult,
    gazetteer_first: PassResult,
    limit: LimitResult,
    naive: NaiveResult,
    naive_sampled: bool,
    machine: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    rate = main.articles_per_s
    results: dict[str, Any] = {
        "size": size,
        "corpus_articles": main.articles,
        "articles_per_s": _r(rate, 2),
        "limit_articles_per_s": _r(limit.articles_per_s, 2),
        "fraction_of_limit": _r(rate / limit.articles_per_s),
        "naive_articles_per_s": _r(naive.articles_per_s, 2),
        "speedup_vs_naive": _r(rate / naive.articles_per_s, 2),
        "peak_rss_mb": main.peak_rss_mb,
        "alert_latency_p50_s": _r(percentile(main.latency_from_write_s, 0.5)),
        "alert_latency_p95_s": _r(percentile(main.latency_from_write_s, 0.95)),
        "alert_latency_from_fetch_p50_s": _r(percentile(main.latency_from_fetch_s, 0.5)),
        "alert_latency_from_fetch_p95_s": _r(percentile(main.latency_from_fetch_s, 0.95)),
        "stage_cpu_s_per_article": main.cpu_per_article(),
        "scaling": {k: _r(r.articles_per_s, 2) for k, r in scaling.items()},
        "scaling_articles": {k: r.articles for k, r in scaling.items()},
        "alert_latency": {
            "gazetteer_first": latency_figures(gazetteer_first),
            "ner_first": latency_figures(ner_first),
            "main_pass": latency_figures(main),
        },
        "limit": {
            "sample_articles": limit.articles,
            "extract_cpu_s_per_article": _r(limit.extract_cpu_s_per_article, 5),
            "tag_cpu_s_per_article": _r(limit.tag_cpu_s_per_article, 5),
            "cores": limit.cores,
        },
        "naive": {"sample_articles": naive.articles, "sampled": naive_sampled, "wall_s": _r(naive.wall_s, 2)},
        "cpu": cpu_figures(main, naive, limit.cores),
        "ceilings": ceilings(main, limit, naive),
        "main_pass": {
            "articles": main.articles,
            "offered": main.offered,
            "wall_s": _r(main.wall_s, 2),
            "alerts_created": main.alerts,
            "deliveries": main.delivered,
            "failures": main.failures,
            "stage_cpu_s": {k: _r(v, 2) for k, v in main.stage_cpu_s.items()},
            "pipeline_stage_wall_s": {k: _r(v, 2) for k, v in main.pipeline_stage_wall_s.items()},
        },
        "corpus": corpus,
        "machine": machine,
        **extra,
    }
    results["targets"] = {key: _target(key, results[key]) for key in TARGETS}
    return results


def cpu_figures(main: PassResult, naive: NaiveResult, cores: int) -> dict[str, Any]:
    """CPU-based figures, which hold when the machine is shared (the wall-clock ones above do not)."""
    pass_cpu = main.cpu_s / max(1, main.articles)
    naive_cpu = naive.cpu_s / max(1, naive.articles)
    return {
        "pass_cpu_s_per_article": _r(pass_cpu, 4),
        "naive_cpu_s_per_article": _r(naive_cpu, 4),
        "pass_machine_share": _r(main.machine_share(cores)),
        "uncontended_articles_per_s_estimate": _r(cores / pass_cpu, 2),
        "uncontended_speedup_vs_naive_estimate": _r((cores / pass_cpu) / (1 / naive_cpu), 2),
        # Elasticsearch on the same cores (0 when it runs elsewhere): the limit leaves its work out
        "es_cpu_s_per_article": _r(main.es_cpu_s / max(1, main.articles), 4),
        # where the pass's CPU went: the main process (fetching, the writer, matching, delivery, feeding NER),
        # the extraction workers and the NER workers
        "by_process_s_per_article": {k: _r(v / max(1, main.articles), 4) for k, v in main.cpu_by_process_s.items()},
        "es_machine_share": _r(main.es_cpu_s / (main.wall_s * cores) if main.wall_s else 0.0),
    }


def ceilings(main: PassResult, limit: LimitResult, naive: NaiveResult) -> dict[str, Any]:
    """The best any pass could do on these cores while Elasticsearch does the work it did in this one: the
    limit's work (extraction + tagging) plus the node's, nothing else, on every core all the time. A target
    above its ceiling cannot be met on this machine with the node beside the pass, whatever the pipeline does."""
    es_cpu = main.es_cpu_s / max(1, main.articles)
    rate = limit.cores / (limit.cpu_s_per_article + es_cpu)
    return {
        "articles_per_s": _r(rate, 2),
        "fraction_of_limit": _r(rate / limit.articles_per_s),
        "speedup_vs_naive": _r(rate / naive.articles_per_s, 2),
    }


def _target(key: str, value: float | None) -> dict[str, Any]:
    op, threshold, meaning = TARGETS[key]
    checks = {">=": value is not None and value >= threshold, "<=": value is not None and value <= threshold}
    met = None if value is None else checks.get(op, value < threshold)
    return {"target": f"{op} {threshold:g}", "value": value, "met": met, "meaning": meaning}


def write_results(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def print_table(results: dict[str, Any], console: Console) -> None:
    summary = Table(title=f"Wirewatch benchmark ({results['size']}, {results['corpus_articles']} articles)")
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    summary.add_column("target")
    for key in (
        "articles_per_s",
        "limit_articles_per_s",
        "fraction_of_limit",
        "naive_articles_per_s",
        "speedup_vs_naive",
        "peak_rss_mb",
        "alert_latency_p50_s",
        "alert_latency_p95_s",
        "alert_latency_from_fetch_p50_s",
        "alert_latency_from_fetch_p95_s",
    ):
        target = results["targets"].get(key)
        mark = "" if target is None else f"{target['target']} {'ok' if target['met'] else 'MISSED'}"
        summary.add_row(key, f"{results[key]}", mark)
    console.print(summary)
    stages = Table(title="CPU seconds per article, by stage (main process + workers; ES excluded)")
    for stage in results["stage_cpu_s_per_article"]:
        stages.add_column(stage, justify="right")
    stages.add_row(*(f"{v * 1000:.1f} ms" for v in results["stage_cpu_s_per_article"].values()))
    console.print(stages)
    other = Table(title="Scaling and alert order")
    other.add_column("measure")
    other.add_column("value", justify="right")
    for k, rate in results["scaling"].items():
        other.add_row(f"scaling {k} ({results['scaling_articles'][k]} articles)", f"{rate} articles/s")
    for order in ("gazetteer_first", "ner_first"):
        lat = results["alert_latency"][order]
        other.add_row(
            f"alerts, {order} ({lat['corpus_articles']} articles)",
            f"write->delivery p50 {lat['from_write_p50_s']} s p95 {lat['from_write_p95_s']} s; "
            f"pass start->delivery p50 {lat['from_pass_start_p50_s']} s p95 {lat['from_pass_start_p95_s']} s",
        )
    console.print(other)
    cpu, load = results["cpu"], results["machine"]
    console.print(
        f"CPU per article: pass {cpu['pass_cpu_s_per_article']} s, naive {cpu['naive_cpu_s_per_article']} s; "
        f"the pass got {cpu['pass_machine_share']:.0%} of the machine's CPU "
        f"(load average {load['load_average_at_start']} at start, {load.get('load_average_at_end')} at end). "
        f"Uncontended estimate: {cpu['uncontended_articles_per_s_estimate']} articles/s, "
        f"{cpu['uncontended_speedup_vs_naive_estimate']}x naive."
    )
    by = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in cpu["by_process_s_per_article"].items())
    top = results["ceilings"]
    console.print(
        f"CPU per article by process: {by}; Elasticsearch {cpu['es_cpu_s_per_article'] * 1000:.1f} ms. "
        f"Ceiling with the node on these cores: {top['articles_per_s']} articles/s, "
        f"{top['fraction_of_limit']} of the limit, {top['speedup_vs_naive']}x naive."
    )
