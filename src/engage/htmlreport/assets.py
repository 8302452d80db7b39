"""What the report page carries besides its data: styles, its small script, Vega's bundle.

Vega, Vega-Lite and Vega-Embed come from ``vl-convert-python`` (the optional extra
``engage-core[report]``), which ships them as one script with nothing to fetch.
"""

from __future__ import annotations

import functools

from engage.errors import EngageError

INSTALL_HINT = "pip install 'engage-core[report]'"


class ReportUnavailableError(EngageError):
    """The optional charting extra is not installed."""


@functools.cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script defining ``vegaEmbed`` (cached).

    Raises:
        ReportUnavailableError: ``vl-convert-python`` is not installed.
    """
    try:
        import vl_convert
    except ImportError:
        raise ReportUnavailableError(
            "engage report draws its charts with Vega-Lite, an optional extra; "
            f"install it: {INSTALL_HINT}"
        ) from None
    # the default snippet defines window.vegaEmbed; the stub wrongly requires one
    return str(vl_convert.javascript_bundle())  # type: ignore[call-arg]


def check_available() -> None:
    """Fail now, not after a sync, when the charting extra is missing.

    Raises:
        ReportUnavailableError: ``vl-convert-python`` is not installed.
    """
    try:
        import vl_convert  # noqa: F401
    except ImportError:
        vega_bundle()


STYLE = """
:root{--ink:#1b1b1b;--muted:#555;--line:#d9d9d9;--bg:#fff;--soft:#f5f6f7;--focus:#0072B2;
--healthy:#0072B2;--watch:#E69F00;--at_risk:#D55E00;--no_data:#8C8C8C}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);
background:var(--bg)}
header.top,main{max-width:1200px;margin:0 auto;padding:0 16px}
header.top{padding-top:12px;border-bottom:1px solid var(--line)}
h1{font-size:1.6rem;margin:.3em 0}h2{font-size:1.3rem;margin:1.4em 0 .4em;padding-top:.4em;
border-top:1px solid var(--line)}h3{font-size:1.05rem;margin:.8em 0 .3em}h4{font-size:.95rem;
margin:.8em 0 .3em}
.meta{color:var(--muted);margin:.2em 0;font-size:.9rem}
nav ul{list-style:none;padding:0;margin:.6em 0;display:flex;flex-wrap:wrap;gap:.3em 1em}
a{color:#005a8c}a:hover{color:#003a5c}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em}.skip:focus{left:8px}
.grid{display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(300px,1fr))}
.grid.risk{grid-template-columns:minmax(0,1fr)}
@media (min-width:1000px){.grid.risk{grid-template-columns:minmax(300px,1fr) 2fr}}
.grid.two{grid-template-columns:repeat(auto-fit,minmax(min(100%,440px),1fr))}
figure{margin:0;padding:8px 10px;border:1px solid var(--line);border-radius:6px;min-width:0}
figcaption h3,figcaption h4{margin:.1em 0 .4em}
.chart{width:100%;min-height:60px}
.numbers-toggle{font:inherit;font-size:.85rem;margin:.4em 0;padding:.25em .7em;border:1px solid
var(--line);border-radius:4px;background:var(--soft);cursor:pointer}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:.88rem;width:100%}
caption{text-align:left;color:var(--muted);padding:.3em 0}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:var(--soft)}th[scope=row]{font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.band{display:inline-block;padding:0 .45em;border-radius:3px;border:2px solid;font-weight:600;
font-size:.85rem;background:#fff}
.band-healthy{border-color:var(--healthy)}.band-watch{border-color:var(--watch)}
.band-at_risk{border-color:var(--at_risk);background:#fbe9e0}.band-no_data{border-color:
var(--no_data);border-style:dashed}
.pri{font-size:.8rem;padding:0 .4em;border-radius:3px;border:1px solid}
.pri-high{border-color:var(--at_risk);background:#fbe9e0}.pri-medium{border-color:var(--watch)}
.pri-low{border-color:#56B4E9}
article.customer{border-top:3px solid var(--line);margin-top:2em;padding-top:.5em}
article.customer h3 small{color:var(--muted);font-weight:400}
.tasks li{margin:.3em 0}.why{color:var(--muted)}.facts{margin:.3em 0 .8em}
.search input{font:inherit;padding:.4em .6em;width:min(100%,360px);border:1px solid #888;
border-radius:4px}
#found{padding-left:1.2em}#summary{background:var(--soft);padding:0 .8em;border-radius:4px}
@media (max-width:600px){body{font-size:14px}h1{font-size:1.3rem}figure{padding:6px}}
@media print{nav,.search,.numbers-toggle,.skip,.back{display:none}
.chart:not(.drawn){display:none}.chart:not(.drawn)~.numbers{display:block!important}
figure,tr,li{break-inside:avoid}article.customer{break-before:page}
a{color:inherit;text-decoration:none}body{font-size:11pt}}
"""

PAGE_SCRIPT = r"""
(() => {
  "use strict";
  const data = JSON.parse(document.getElementById("engage-data").textContent);
  const options = {actions: false, renderer: "svg"};
  function specOf(el) {
    if (el.dataset.chart) return data.charts[el.dataset.chart];
    const spec = Object.assign({}, data.templates[el.dataset.template]);
    spec.datasets = data.customers[el.dataset.customer][el.dataset.template];
    return spec;
  }
  function draw(el) {
    if (el.dataset.state) return;
    el.dataset.state = "drawing";
    vegaEmbed(el, specOf(el), options).then(() => {
      el.dataset.state = "drawn";
      el.classList.add("drawn");
      const svg = el.querySelector("svg");
      if (svg) svg.setAttribute("aria-hidden", "true");  // the container is the labelled image
    }).catch((error) => {
      el.dataset.state = "failed";
      console.error("engage report: a chart failed", error);
    });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".numbers-toggle");
    if (!button) return;
    const box = document.getElementById(button.getAttribute("aria-controls"));
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    box.hidden = !open;
    button.textContent = open ? "Hide the numbers" : "Show the numbers";
  });
  const near = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) { near.unobserve(entry.target); draw(entry.target); }
    }
  }, {rootMargin: "600px 0px"}) : null;
  for (const el of document.querySelectorAll(".chart")) {
    if (el.dataset.chart || !near) draw(el); else near.observe(el);
  }
  function openTarget() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id ? document.getElementById(id) : null;
    if (target) target.querySelectorAll(".chart").forEach(draw);
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  const input = document.getElementById("find");
  const found = document.getElementById("found");
  const summary = document.getElementById("summary");
  let index = null;
  function rows() {
    if (!index) {
      index = JSON.parse(document.getElementById("engage-index").textContent);
      for (const row of index.rows) row.push((row[0] + " " + row[1]).toLowerCase());
    }
    return index;
  }
  function describe(row) {
    const ix = rows();
    const score = row[2] === null ? "no score" : "score " + row[2];
    return (row[1] || row[0]) + " (" + row[0] + "): " + score + ", " +
      ix.bandWords[ix.bands[row[3]]];
  }
  function show(row) {
    const ix = rows();
    summary.textContent = "";
    const lines = [
      describe(row),
      "segment " + ix.segments[row[4]] + ", owner " + ix.owners[row[5]] +
        (ix.factors[row[6]] ? ", weakest factor " + ix.factors[row[6]] : ""),
      "Not among the customers with a section here; engage health --customer " + row[0] +
        " shows every reason.",
    ];
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      summary.append(p);
    }
  }
  input.addEventListener("input", () => {
    const query = input.value.trim().toLowerCase();
    found.textContent = "";
    summary.textContent = "";
    if (!query) return;
    let shown = 0;
    for (const row of rows().rows) {
      if (!row[8].includes(query)) continue;
      const item = document.createElement("li");
      const a = document.createElement("a");
      a.textContent = describe(row);
      a.href = row[7] ? "#" + row[7] : "#summary";
      if (!row[7]) a.addEventListener("click", (event) => { event.preventDefault(); show(row); });
      item.append(a);
      found.append(item);
      if (++shown >= 20) break;
    }
    if (!shown) {
      const item = document.createElement("li");
      item.textContent = "No customer matches.";
      found.append(item);
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    const first = found.querySelector("a");
    if (first) { event.preventDefault(); first.click(); }
  });
})();
"""
