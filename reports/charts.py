"""Charts as small PNGs (matplotlib, Agg: no display, no SVG in mail). Plotting takes floats;
the figures people read are in the tables, exact."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BLUE, GREY, RED = "#2b6cb0", "#a0aec0", "#c53030"
plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                     "figure.dpi": 100, "savefig.dpi": 100})


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def trend(history: list[tuple[str, object]], currency: str) -> bytes:
    """Monthly cost, the report's month highlighted."""
    months = [m for m, _ in history][-6:]
    values = [float(v) for _, v in history][-6:]
    fig, ax = plt.subplots(figsize=(5.6, 2.2))
    bars = ax.bar(months, values, color=[GREY] * (len(values) - 1) + [BLUE], width=0.6)
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8, padding=2)
    ax.set_ylabel(currency)
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.margins(y=0.2)
    return _png(fig)


def compare(labels: list[str], current: list, previous: list, currency: str, now: str, before: str) -> bytes:
    """Horizontal bars: this month against the previous one, per label."""
    labels = [str(label)[:32] for label in labels][::-1]
    cur = [float(v) for v in current][::-1]
    prev = [float(v) for v in previous][::-1]
    fig, ax = plt.subplots(figsize=(5.6, 0.45 * len(labels) + 0.8))
    y = range(len(labels))
    ax.barh([i + 0.2 for i in y], prev, height=0.4, color=GREY, label=before)
    ax.barh([i - 0.2 for i in y], cur, height=0.4, color=BLUE, label=now)
    ax.set_yticks(list(y), labels)
    ax.set_xlabel(currency)
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    return _png(fig)
