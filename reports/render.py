"""Reports to HTML and text: Jinja2 (autoescape on for HTML: every name, tag value and vendor
is data), CSS inlined by css-inline (mail clients drop <style>), charts as PNG.

The same HTML serves two readers: in the e-mail its images are `cid:` references to inline
MIME parts; the standalone .html for the browser embeds them as `data:` URIs, so one file can
be opened, archived or forwarded without a folder of images beside it."""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from email.utils import make_msgid
from pathlib import Path

import css_inline
import jinja2

from . import charts
from .data import FinanceReport, TeamReport

TEMPLATES = Path(__file__).with_name("templates")
CENT = Decimal("0.01")


def money(value) -> str:
    """12,345.67: exact, half up to the cent (the figures a test compares with the warehouse)."""
    if value is None:
        return "-"
    return f"{Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def signed(value) -> str:
    if value is None:
        return "-"
    q = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return ("+" if q > 0 else "") + f"{q:,.2f}"


def pct(value, places: int = 1) -> str:
    if value is None:
        return "n/a"
    q = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return ("+" if q > 0 else "") + f"{q}%"


def plain_pct(value, places: int = 1) -> str:
    return "n/a" if value is None else f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}%"


def hours(value) -> str:
    return "-" if value is None else f"{Decimal(value).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,.1f}"


def tokens(value) -> str:
    return "-" if value is None else f"{Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"


def month_name(period: str) -> str:
    return dt.date.fromisoformat(f"{period}-01").strftime("%B %Y")


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=money, signed=signed, pct=pct, plain_pct=plain_pct, hours=hours,
                       tokens=tokens, month=month_name)
    return env


HTML = _env(autoescape=True)
TEXT = _env(autoescape=False)  # text/plain is not HTML: escaping would garble names
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass
class Image:
    name: str
    png: bytes
    alt: str
    cid: str  # Content-ID without angle brackets

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


@dataclass
class Rendered:
    subject: str
    html: str  # for the e-mail: images as cid:
    browser_html: str  # standalone: images as data: URIs
    text: str
    images: list[Image]


def _images(specs: list[tuple[str, bytes, str]]) -> list[Image]:
    return [Image(name, png, alt, make_msgid(idstring=name, domain="aispend.local")[1:-1])
            for name, png, alt in specs]


def _render(template: str, subject: str, images: list[Image], **ctx) -> Rendered:
    html = HTML.get_template(f"{template}.html")
    by_cid = {i.name: {"src": f"cid:{i.cid}", "alt": i.alt} for i in images}
    by_uri = {i.name: {"src": i.data_uri(), "alt": i.alt} for i in images}
    return Rendered(subject=subject,
                    html=_INLINER.inline(html.render(images=by_cid, subject=subject, **ctx)),
                    browser_html=_INLINER.inline(html.render(images=by_uri, subject=subject, **ctx)),
                    text=TEXT.get_template(f"{template}.txt").render(subject=subject, **ctx),
                    images=images)


def render_team(rep: TeamReport) -> Rendered:
    month = month_name(rep.period)
    cats = rep.breakdown["service_category"][:8]
    specs = [("trend", charts.trend(rep.history, rep.currency),
              # alt text holds no tag values: css-inline re-serializes attributes with '<' unescaped
              f"Monthly cost of your team in {rep.currency}: "
              + ", ".join(f"{month_name(m)} {money(v)}" for m, v in rep.history[-6:]))]
    if cats:
        specs.append(("categories", charts.compare([c["value"] for c in cats], [c["cost"] for c in cats],
                                                   [c["previous"] for c in cats], rep.currency,
                                                   month_name(rep.period), month_name(rep.previous_period)),
                      f"Cost by service category, {month} against {month_name(rep.previous_period)}: "
                      + ", ".join(f"{c['value']} {money(c['cost'])}" for c in cats)))
    subject = f"Cloud and AI spend of {rep.team}, {month}: {money(rep.total)} {rep.currency}"
    return _render("team", subject, _images(specs), r=rep, headline=headline(rep))


def render_finance(rep: FinanceReport) -> Rendered:
    month = month_name(rep.period)
    specs = []
    main = [t for t in rep.teams if t["currency"] == "USD"][:12] or rep.teams[:12]
    if main:
        cur = main[0]["currency"]
        specs.append(("teams", charts.compare([t["team"] for t in main], [t["cost"] for t in main],
                                              [t["previous"] for t in main], cur, month,
                                              month_name(rep.previous_period)),
                      f"Cost by team in {cur}, {month} against {month_name(rep.previous_period)} "
                      f"(the table below has the figures)"))
    subject = f"Cloud and AI spend, finance overview, {month}"
    return _render("finance", subject, _images(specs), r=rep)


def headline(rep: TeamReport) -> str:
    """One plain-language line: how the month moved and the service that moved it most."""
    month, before = month_name(rep.period), month_name(rep.previous_period)
    ch = rep.vs_previous
    if not rep.previous:
        line = f"{month} is the first month with spend for {rep.team}: {money(rep.total)} {rep.currency}."
    elif ch["delta"] == 0:
        line = f"Spend was flat against {before} at {money(rep.total)} {rep.currency}."
    else:
        way = "rose" if ch["delta"] > 0 else "fell"
        line = (f"Spend {way} {plain_pct(abs(ch['pct']))} ({signed(ch['delta'])} {rep.currency}) "
                f"against {before}.")
    big = rep.biggest_change
    if big:
        way = "up" if big["delta"] > 0 else "down"
        who = big["service"] if big["provider"] in ("", big["service"]) else f"{big['service']} ({big['provider']})"
        line += (f" The biggest change: {who} went {way} by "
                 f"{money(abs(big['delta']))} {rep.currency}, from {money(big['previous'])} to {money(big['cost'])}.")
    return line
