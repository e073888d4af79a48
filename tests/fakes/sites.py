"""Fake eerstekamer.nl and internetconsultatie.nl, each served for real on its own 127.0.0.1 port (two hosts, as
upstream), for end-to-end tests. They render the markup of the reconstructed fixtures in `tests/data/sources/`
(``ek_stemmingen_p1.html``, ``ek_wetsvoorstel_36791.html``, ``ic_openconsultaties.xml``,
``ic_consultatie_wetlobbyregister_b1.html``; their provenance is in their header comments), with real paging.

    with FakeEersteKamer() as ek, FakeInternetconsultatie() as ic:     # or via FakeUpstream: up.ek, up.ic
        ek.base_url                     # -> WETWACHT_EK_URL
        ek.add_vote(date(2026, 10, 13), "Wet op de politieke partijen", "36.742")      # adopted, zitten en opstaan
        ek.add_vote(day, "…", "36.468", outcome="Verworpen", method="Hoofdelijke stemming, verworpen")
        ek.add_vote(day, "…", "36.920", method="Hamerstuk")
        ek.add_vote(day, "Motie-X over …", "36.742, M", motion=True)
        ek.add_vote(day, "…", "36.791", outcome=None)            # an item without its outcome image
        ek.add_bill("36.791", "Wet toekomstbestendige huurcommissie", states=("vol", "vol", "vol", "geblokt"),
                    vote_day=date(2026, 9, 29))                 # the bill page the source may confirm on
        ic.base_url                     # -> WETWACHT_CONSULTATIE_URL
        ic.add("wetlobbyregister", "Wet lobbyregister", type="Wet", intro="…", start=date(2026, 8, 3))
        ic.close("wetlobbyregister")    # it leaves the list of open consultations

The vote list (``/stemmingen_per_vergaderdag?filter=wetsvoorstellen``) is newest first, `page_size` items a page,
paged with ``start_006=N&dlastinprev=DAY`` behind an "eerdere stemmingen" link; a day split over two pages is
headed "… (vervolg)" on the second. Bill pages are ``/wetsvoorstel/<number>_<slug>``. internetconsultatie.nl
serves ``/rest/openconsultaties/`` and ``/<slug>/b1`` (``/<slug>`` redirects there). ``/zoeken`` answers 403
and is recorded, so a test can assert it was never asked for.

Faults, for the next `n` requests (to paths starting with `on`, or any):
    ek.fail_next(2, "503")         # 503 with an HTML body and Retry-After: 0 (retried without waiting)
    ek.fail_next(1, "truncate")    # a 200 whose body is cut in half
    ek.fail_next(1, "markup")      # a 200 of a page whose markup has changed (the vote list's class, the progress
                                   # module's id; the consultation list's root, the consultation table's labels)
Counters: `requests` (each a `Seen(path, params, status, fault, agent)`), `count(prefix)`, `reset_counts()`.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from tests.fakes import Served

Fault = Literal["503", "truncate", "markup"]
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
_HTML_503 = (b"<!DOCTYPE html>\n<html><head><title>503 Service Unavailable</title></head><body><h1>Service "
             b"Unavailable</h1></body></html>\n")


def dutch(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Seen:
    path: str
    params: dict[str, str]
    status: int
    fault: str | None = None
    agent: str = ""  # the User-Agent it came with


@dataclass
class _Fault:
    mode: Fault
    on: str | None


Answer = tuple[int, str, bytes, dict[str, str]]


class _Site:
    """One fake host: a local server in a thread, faults and request counters."""

    name = "site"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._seen: list[Seen] = []
        self._served: Served | None = None

    def start(self) -> _Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                site._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._served = Served(Handler, f"fake-{self.name}")
        return self

    def stop(self) -> None:
        if self._served is not None:
            self._served.stop()
            self._served = None

    def __enter__(self) -> _Site:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._served.base_url if self._served is not None else "http://127.0.0.1:0"

    def fail_next(self, n: int, mode: Fault = "503", *, on: str | None = None) -> None:
        with self._lock:
            self._faults.extend(_Fault(mode, on) for _ in range(n))

    @property
    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def count(self, prefix: str = "/") -> int:
        with self._lock:
            return sum(1 for s in self._seen if s.path.startswith(prefix))

    def reset_counts(self) -> None:
        with self._lock:
            self._seen.clear()

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.on is None or path.startswith(fault.on):
                    return self._faults.pop(i)
        return None

    def answer(self, path: str, params: dict[str, str], *, changed: bool) -> Answer:
        raise NotImplementedError

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        fault = self._take_fault(split.path)
        if split.path == "/zoeken" or split.path.startswith("/zoeken/"):
            status, ctype, body, headers = 403, "text/plain", b"robots.txt disallows /zoeken\n", {}
        elif fault is not None and fault.mode == "503":
            status, ctype, body, headers = 503, "text/html; charset=utf-8", _HTML_503, {"Retry-After": "0"}
        else:
            status, ctype, body, headers = self.answer(split.path, params,
                                                       changed=fault is not None and fault.mode == "markup")
            if fault is not None and fault.mode == "truncate":
                body = body[: max(1, len(body) // 2)]
        with self._lock:
            self._seen.append(Seen(split.path, params, status, fault.mode if fault else None,
                                   handler.headers.get("User-Agent", "")))
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True


# ------------------------------------------------------------------------------------------- eerstekamer.nl


@dataclass
class Vote:
    day: dt.date
    title: str
    number: str  # as the list writes it: "36.742", "36.600 VII", "36.455 (R2188)", "36.742, M"
    outcome: str | None  # the image's alt: "Aangenomen", "Verworpen", or None (an item without its image)
    method: str
    motion: bool
    seq: int

    @property
    def slug(self) -> str:
        # /wetsvoorstel/36791_wet_toekomstbestendige, /wetsvoorstel/36945_xxii_jaarverslag_en_slotwet,
        # /motiedossier/37020_m_motie_beukering_fractie (the Rijkswet number is not in the slug)
        bare = re.sub(r"\(.*?\)", "", self.number.lower()).replace(".", "")
        digits = re.sub(r"[^0-9a-z]+", "_", bare).strip("_")
        words = re.sub(r"[^a-z0-9]+", "_", self.title.lower()).strip("_").split("_")[:3]
        return f"{digits}_{'_'.join(words)}"

    @property
    def path(self) -> str:
        return f"/{'motiedossier' if self.motion else 'wetsvoorstel'}/{self.slug}"


@dataclass
class Bill:
    number: str
    title: str
    path: str
    states: tuple[str, str, str, str]
    vote_day: dt.date | None
    rejected: bool = False


_EK_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Stemmingen per vergaderdag - Eerste Kamer der Staten-Generaal</title></head>
<body>
<main class="cell small-12 medium-8 order-2">
<div id="main_content_wrapper">
<div id="filters"><div class="grid-x"><span class="cell small-12 large-4">Toon stemmingen: </span><a href="/stemmingen_per_vergaderdag?filter=alles" class="filter_option cell small-4 large-3"><div class="filter_radio">&nbsp;</div><span> alles ({total})</span></a><a href="/stemmingen_per_vergaderdag?filter=wetsvoorstellen" class="filter_option cell small-8 large-5"><div class="filter_radio filter_radio--selected">&nbsp;</div><span> wetsvoor&shy;stellen ({bills})</span></a></div></div><p class="mtop"></p>
{pager}
{days}
<hr>
{pager}
</div>
</main>
</body>
</html>
"""

_EK_DAY = """
<div class="hr clear pre-partitel">
<hr /></div>
<div class="partitel grid-x nowr">
	<div class="titel small-order-1">
<h2><a id="p{n}"></a>{heading}
</h2>
</div></div>
<ul class="{list_class}">
{items}
</ul>
"""

_EK_ITEM = """<li class="opsomitem met_image image_breed">
	<div class="opsomitem grid-x nowr">
		<div class="opsomteken">
			{image}
		</div>
		<div class="opsomtekst">
{title}  (<a href="{path}">{number}</a>)<br />
{method}
	</div>
</div>
</li>"""

_EK_VOTED = """
		<ul class="inlopendetekst w_hideshow_accesible">
			<li class="opsomitem met_image ocnode">
				<div class="hideshow_accesible grid-x w_hideshow_accesible">
					<div class="js-expandmore" data-hideshow-prefix-class="simpleplus">
						<a href="/verslagdeel/{stamp}/{slug}">
							{method}
						</a>
					</div>
					<div class="js-to_expand">
						<strong>voor:</strong> 50PLUS, CDA, ChristenUnie, D66, PRO, PvdD, SGP, SP, VVD en Volt<br /><strong>tegen:</strong> BBB en FVD<br />
					</div>
				</div>
			</li>
		</ul>
"""

_EK_BILL = """<!doctype html>
<html><head><title>{title} ({number}) - Eerste Kamer der Staten-Generaal</title></head><body><main class="cell small-12 medium-8 order-2">
<div id="main_content_wrapper">
<div class="partitel grid-x nowr"><div class="titel small-order-1"><h2><a id="p1"></a>Stand van zaken
</h2></div></div>
<div id="w_voortgangModule" class="w_voortgangModule custom-scroll custom-scroll-x"><div id="w2_voortgangModule">
<div id="{module}" class="grid-x nowr">
{blocks}
</div></div></div>
</div>
</main></body></html>
"""

_PHASES = ("", "Schriftelijke voorbereiding", "Plenair", "Afkondiging")
_HOUSES = (("tweedekamer", "Tweede Kamer"), ("eerstekamer1", "Eerste Kamer"), ("eerstekamer2", "&nbsp;"),
           ("staatsblad", "Staatsblad(en)"))


class FakeEersteKamer(_Site):
    """See the module docstring. `backlog=True` starts with a few votes of September 2026 (from the fixture)."""

    name = "eerstekamer"

    def __init__(self, *, page_size: int = 25, backlog: bool = True) -> None:
        super().__init__()
        self.page_size = page_size
        self.votes: list[Vote] = []
        self.bills: dict[str, Bill] = {}
        self._seq = 0
        if backlog:
            self.add_vote(dt.date(2026, 9, 22), "Bedrijfsduurverlenging kerncentrale Borssele", "36.847")
            self.add_vote(dt.date(2026, 9, 22), "Motie-Bezaan (PVV) c.s. over vooruitlopen op parlementaire "
                          "besluitvorming", "36.744, G", motion=True)
            self.add_vote(dt.date(2026, 9, 29), "Wet toekomstbestendige huurcommissie", "36.791")
            self.add_vote(dt.date(2026, 9, 29), "Wet uitvoering EU-verordening overbrenging van afvalstoffen",
                          "36.880", method="Hamerstuk")

    @property
    def list_path(self) -> str:
        return "/stemmingen_per_vergaderdag"

    def add_vote(self, day: dt.date, title: str, number: str, *, outcome: str | None = "Aangenomen",
                 method: str | None = None, motion: bool = False) -> Vote:
        """A vote at the top of its meeting day (a day's items in the order they were added)."""
        if method is None:
            verdict = "verworpen" if outcome == "Verworpen" else "aangenomen"
            method = f"Stemming bij zitten en opstaan, {verdict}"
        with self._lock:
            self._seq += 1
            vote = Vote(day=day, title=title, number=number, outcome=outcome, method=method, motion=motion,
                        seq=self._seq)
            self.votes.append(vote)
            return vote

    def add_bill(self, number: str, title: str, *, states: tuple[str, str, str, str] = ("vol", "vol", "vol", "geblokt"),
                 vote_day: dt.date | None = None, rejected: bool = False) -> Bill:
        """The bill page of `number` (at the path the vote list links to for it)."""
        probe = Vote(day=dt.date(2000, 1, 1), title=title, number=number, outcome=None, method="", motion=False,
                     seq=0)
        with self._lock:
            for vote in self.votes:
                if vote.number == number and not vote.motion:
                    probe = vote
            bill = Bill(number=number, title=title, path=probe.path, states=states, vote_day=vote_day,
                        rejected=rejected)
            self.bills[bill.path] = bill
            return bill

    def ordered(self) -> list[Vote]:
        with self._lock:
            return sorted(self.votes, key=lambda v: (-v.day.toordinal(), v.seq))

    def list_html(self, start: int = 0, *, changed: bool = False) -> bytes:
        votes = self.ordered()
        page = votes[start:start + self.page_size]
        more = start + self.page_size < len(votes)
        pager = ""
        if more:
            href = (f"/stemmingen_per_vergaderdag?filter=wetsvoorstellen&#38;start_006={start + self.page_size}"
                    f"&#38;dlastinprev={page[-1].day.isoformat()}")
            pager = (f'<div class="seriekeuze volgende float-right">\n\t<a href="{href}" class="grid-x nowr">\n'
                     "\t\t<span>eerdere stemmingen</span>\n\t</a>\n</div>")
        days: list[str] = []
        groups: list[tuple[dt.date, list[Vote]]] = []
        for vote in page:
            if groups and groups[-1][0] == vote.day:
                groups[-1][1].append(vote)
            else:
                groups.append((vote.day, [vote]))
        for n, (day, items) in enumerate(groups, start=1):
            continued = n == 1 and start > 0 and votes[start - 1].day == day
            heading = dutch(day) + (" (vervolg)" if continued else "")
            list_class = "inlopendetekst stemlijst stemlijst_perdag" if not changed else "inlopendetekst stemuitslagen"
            days.append(_EK_DAY.format(n=n, heading=heading, list_class=list_class,
                                       items="\n".join(self._item(v) for v in items)))
        return _EK_PAGE.format(total=len(votes) + 1064, bills=len(votes), pager=pager, days="".join(days)).encode()

    @staticmethod
    def _item(vote: Vote) -> str:
        if vote.outcome is None:
            image = '<img src="/9370210/g/leeg.png" alt="">'
        else:
            png = "stemmen_voor.png" if vote.outcome == "Aangenomen" else "stemmen_tegen.png"
            image = f'<img src="/9370210/g/{png}" alt={quoteattr(vote.outcome)}>'
        if vote.method.lower() == "hamerstuk":
            method = f'\n<a href="/id/vn{vote.seq:08d}/verslagdeel/stemming_hamerstuk">Hamerstuk</a><br />\n'
        else:
            method = _EK_VOTED.format(stamp=vote.day.strftime("%Y%m%d"), slug=vote.slug.split("_", 1)[-1],
                                      method=escape(vote.method))
        return _EK_ITEM.format(image=image, title=escape(vote.title), path=vote.path, number=escape(vote.number),
                               method=method)

    def bill_html(self, bill: Bill, *, changed: bool = False) -> bytes:
        blocks: list[str] = []
        for i, state in enumerate(bill.states):
            docs = ""
            if i == 2 and bill.vote_day is not None:
                stamp = bill.vote_day.strftime("%Y%m%d")
                docs = (f'<div class="doc"><a href="/verslagdeel/{stamp}/{bill.path.rsplit("_", 1)[-1]}" class="meti" '
                        f'data-bs-toggle="popover" data-bs-placement="bottom" '
                        f'data-bs-title="stemming - {dutch(bill.vote_day)}" data-bs-content="{dutch(bill.vote_day)} '
                        'stemming"><div class="glyph fs1"><div class="clearfix pbs"></div></div></a></div>')
            phase = "<strong>Verworpen</strong>" if bill.rejected and i == 2 else _PHASES[i]
            house, label = _HOUSES[i]
            blocks.append(f'<div class="voortgangBlok{i + 1}"><div class="{state}"></div><div class="grid-x nowr '
                          f'faseinfo"><span class="fase ellip">{phase}</span></div>\n<div class="docs grid-x nowr">'
                          f'\n{docs}</div>\n<div class="{house} ellip voortgangM inst">{label}</div></div>')
        return _EK_BILL.format(title=escape(bill.title), number=escape(bill.number), blocks="\n".join(blocks),
                               module="voortgangModule" if not changed else "voortgang").encode()

    def answer(self, path: str, params: dict[str, str], *, changed: bool) -> Answer:
        page = "text/html; charset=utf-8"
        if path == self.list_path:
            if params.get("filter") != "wetsvoorstellen":
                return 400, "text/plain", b"wetwacht reads filter=wetsvoorstellen\n", {}
            try:
                start = int(params.get("start_006", "0"))
            except ValueError:
                return 400, "text/plain", b"start_006 must be a number\n", {}
            return 200, page, self.list_html(start, changed=changed), {}
        with self._lock:
            bill = self.bills.get(path)
        if bill is not None:
            return 200, page, self.bill_html(bill, changed=changed), {}
        return 404, "text/html", b"<html><body>Pagina niet gevonden</body></html>\n", {}


# ------------------------------------------------------------------------------------- internetconsultatie.nl


@dataclass
class Consultation:
    slug: str
    title: str
    type: str
    organisatie: str
    start: dt.date
    end: dt.date
    intro: str
    departement: str
    status: str = "Actief"
    keten_id: str = "29001"
    open: bool = True
    extra_rows: dict[str, str] = field(default_factory=dict)


_IC_PAGE = """<!DOCTYPE html>
<html lang="nl">
<head><meta charset="utf-8"><title>Overheid.nl | Consultatie {title}</title></head>
<body>
<div id="content" class="container" role="main">
  <div class="row row--contentheading">
    <h1>{title}</h1>
  </div>
  <p class="consultation-status">{state}</p>
  <section>
    <h2>In het kort</h2>
    <p class="p-intro">{intro}</p>
  </section>
  <section id="sectie-consultatiegegevens">
    <h3>Consultatiegegevens</h3>
    <table class="{table_class}">
      <tbody>
{rows}
      </tbody>
    </table>
  </section>
</div>
</body>
</html>
"""


class FakeInternetconsultatie(_Site):
    """See the module docstring. `backlog=True` starts with one open consultation (the ISDE regeling of the
    fixture), since the list of open consultations is never empty upstream."""

    name = "internetconsultatie"

    def __init__(self, *, backlog: bool = True) -> None:
        super().__init__()
        self.consultations: dict[str, Consultation] = {}
        if backlog:
            self.add("isde", "Wijzigingsregeling ISDE 2027", type="Ministeriële regeling",
                     organisatie="Ministerie van Klimaat en Groene Groei", start=dt.date(2026, 7, 17),
                     end=dt.date(2026, 8, 21), intro="Deze regeling wijzigt de subsidie voor duurzame energie.",
                     departement="EZK")

    def add(self, slug: str, title: str, *, type: str = "Wet",  # the site's own label ("Type consultatie")
            organisatie: str = "Ministerie van Binnenlandse Zaken en Koninkrijksrelaties",
            start: dt.date = dt.date(2026, 10, 1), end: dt.date = dt.date(2026, 11, 12), intro: str = "",
            departement: str = "BZK", keten_id: str = "29001") -> Consultation:
        with self._lock:
            item = Consultation(slug=slug, title=title, type=type, organisatie=organisatie, start=start, end=end,
                                intro=intro, departement=departement, keten_id=keten_id)
            self.consultations[slug] = item
            return item

    def close(self, slug: str) -> None:
        with self._lock:
            self.consultations[slug].open = False
            self.consultations[slug].status = "Gesloten"

    def list_xml(self, *, changed: bool = False) -> bytes:
        root = "consultaties" if not changed else "openConsultaties"
        out = ['<?xml version="1.0" encoding="utf-8"?>', f"<{root}>"]
        with self._lock:
            items = [c for c in self.consultations.values() if c.open]
        for c in items:
            out += ["<consultatie>", f"<titel>{escape(c.title)} </titel>",  # "trailing spaces somehow" (tkconv)
                    f"<url>https://www.internetconsultatie.nl/{c.slug}</url>",
                    f"<startdatum>{c.start.strftime('%d-%m-%Y')}</startdatum>",
                    f"<einddatum>{c.end.strftime('%d-%m-%Y')}</einddatum>",
                    f"<departementen>\n<departement>{escape(c.departement)}</departement>\n</departementen>",
                    "</consultatie>"]
        out.append(f"</{root}>\n")
        return "\n".join(out).encode()

    def page_html(self, c: Consultation, *, changed: bool = False) -> bytes:
        rows = [("Startdatum consultatie", c.start.strftime("%d-%m-%Y")),
                ("Einddatum consultatie", c.end.strftime("%d-%m-%Y")), ("Status", c.status),
                ("Soort" if changed else "Type consultatie", c.type), ("Organisatie", c.organisatie)]
        cells = [f'        <tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows]
        cells.append(f'        <tr><th scope="row">Keten-ID</th><td><a href="https://wetgevingskalender.overheid.nl/'
                     f'Regeling/WGK0{c.keten_id}">{c.keten_id}</a></td></tr>')
        return _IC_PAGE.format(title=escape(c.title), state="Consultatie geopend" if c.open else "Consultatie gesloten",
                               intro=escape(c.intro), rows="\n".join(cells),
                               table_class="table__data-overview" if not changed else "table__data").encode()

    def answer(self, path: str, params: dict[str, str], *, changed: bool) -> Answer:
        if path == "/rest/openconsultaties/":
            return 200, "application/xml; charset=utf-8", self.list_xml(changed=changed), {}
        parts = [p for p in path.split("/") if p]
        with self._lock:
            item = self.consultations.get(parts[0]) if parts else None
        if item is None:
            return 404, "text/html", b"<html><body>Niet gevonden</body></html>\n", {}
        if len(parts) == 1:
            return 301, "text/html", b"", {"Location": f"/{item.slug}/b1"}
        if parts[1:] == ["b1"]:
            return 200, "text/html; charset=utf-8", self.page_html(item, changed=changed), {}
        return 404, "text/html", b"<html><body>Niet gevonden</body></html>\n", {}

