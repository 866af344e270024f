// newsfeed web: every string from the broker goes into the page with textContent (never as markup), so a
// headline such as "<script>…</script>" shows as text. The server's Content-Security-Policy forbids inline
// script and other origins besides.
"use strict";

const PAGE = 100;
const EVERY_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
const view = { offset: 0, selected: null, total: 0 };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

// a replayed file's source is its path and a feed's its URL: the file name or the host says enough in a cell
function shortName(name) {
  const match = /^https?:\/\/([^/]+)/i.exec(name);
  return match ? match[1] : name.split("/").pop();
}

function counts(obj, most = 4) {
  const entries = Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, most).map(([name, n]) => (n > 1 ? `${shortName(name)} ${n}` : shortName(name)));
  return shown.join(", ") + (entries.length > most ? ` +${entries.length - most} more` : "");
}

function age(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) return `${Math.round(seconds / size)} ${unit}`;
  }
  return `${Math.round(seconds)} s`;
}

async function getJSON(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function filters() {
  const params = new URLSearchParams();
  for (const id of ["language", "country", "source", "entity"]) {
    if ($(id).value) params.set(id, $(id).value);
  }
  if ($("q").value) params.set("q", $("q").value);
  return params;
}

function renderStories(data) {
  view.total = data.total;
  const rows = data.stories.map((story) => {
    const tr = el("tr");
    tr.dataset.id = story.id;
    if (story.id === view.selected) tr.className = "selected";
    tr.append(el("td", story.headline, "headline"), el("td", counts(story.languages)),
      el("td", counts(story.sources)), el("td", story.articles, "num"), el("td", age(story.last_seen), "num"));
    return tr;
  });
  $("stories").tBodies[0].replaceChildren(...rows);
  $("count").textContent = `${data.total} of ${data.open} open stories, most recently active first`;
  const last = Math.min(data.offset + PAGE, data.total);
  $("page").textContent = data.total ? `${data.offset + 1}–${last}` : "";
  $("prev").disabled = data.offset === 0;
  $("next").disabled = last >= data.total;
}

function fillSelect(id, entries, label) {
  const select = $(id);
  const chosen = select.value;
  const options = [el("option", label)];
  options[0].value = "";
  for (const [name, n] of entries) {
    const option = el("option", `${name} (${n})`);
    option.value = name;
    options.push(option);
  }
  select.replaceChildren(...options);
  select.value = chosen;
}

function renderFacets(facets) {
  fillSelect("language", facets.languages, "all languages");
  fillSelect("country", facets.countries, "all countries");
  fillSelect("source", facets.sources, "all sources");
  $("entities").replaceChildren(...facets.entities.map(([name]) => {
    const option = el("option");
    option.value = name;
    return option;
  }));
}

function renderMarkers(places, ofStory) {
  const circles = places.filter((p) => typeof p.lat === "number" && typeof p.lon === "number").map((p) => {
    const circle = document.createElementNS(SVG, "circle");
    circle.setAttribute("cx", (p.lon + 180).toFixed(2));
    circle.setAttribute("cy", (90 - p.lat).toFixed(2));
    circle.setAttribute("r", Math.min(4, 0.8 + Math.sqrt(p.count || 1) * 0.5).toFixed(2));
    if (ofStory) circle.setAttribute("class", "story");
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${p.name} (${p.country || "?"}) ×${p.count || 1}`;
    circle.append(title);
    return circle;
  });
  $("markers").replaceChildren(...circles);
  $("map-note").textContent = ofStory ? `${circles.length} places of the selected story`
    : `${circles.length} places of recent articles`;
}

function chip(list, text) {
  list.append(el("li", text));
}

function renderDetail(story) {
  $("detail").hidden = false;
  $("detail-headline").textContent = story.headline;
  $("detail-meta").textContent = `${story.articles} articles · ${counts(story.languages)} · `
    + `${counts(story.sources)} · first seen ${age(story.first_seen)} ago`;
  const items = story.articles_kept.map((a) => {
    const li = el("li");
    const safe = typeof a.url === "string" && /^https?:\/\//i.test(a.url);
    const title = el(safe ? "a" : "span", a.title);
    if (safe) {
      title.href = a.url;
      title.rel = "noopener noreferrer nofollow";
      title.target = "_blank";
    }
    li.append(title, el("span", ` — ${a.source} · ${a.language || "?"}`, "note"));
    return li;
  });
  $("detail-articles").replaceChildren(...items);
  for (const label of ["PER", "ORG"]) {
    const list = $(`detail-${label}`);
    list.replaceChildren();
    story.entities.filter((e) => e.label === label).forEach((e) => chip(list, `${e.name} ×${e.count}`));
  }
  const places = $("detail-places");
  places.replaceChildren();
  story.places.forEach((p) => chip(places, `${p.name} (${p.country || "?"}) ×${p.count}`));
}

function renderPipeline(p) {
  const stages = Object.entries((p.status && p.status.stages) || {}).map(([name, s]) => {
    const tr = el("tr");
    tr.append(el("td", name), el("td", s.records_per_s.toFixed(1), "num"), el("td", s.lag, "num"));
    return tr;
  });
  $("stages").tBodies[0].replaceChildren(...stages);
  const lat = (p.status && p.status.latency_s) || {};
  $("pipeline-meta").textContent = `${p.open_stories} open stories · ${p.articles_read} articles read · `
    + `dead letters ${p.status.dead_letters ?? "…"} · produce→sink p50 `
    + `${lat.p50 == null ? "—" : lat.p50.toFixed(2) + " s"}${p.status.error ? " · status: " + p.status.error : ""}`;
  $("letters").replaceChildren(...p.dead_letters.map(([reason, n]) => el("li", `${reason}: ${n}`)));
  $("errors").replaceChildren(...p.last_errors.map((e) => el("li", `${e.stage}/${e.kind}: ${e.message}`)));
}

async function refresh() {
  try {
    const params = filters();
    params.set("offset", view.offset);
    params.set("limit", PAGE);
    const selected = view.selected;
    const [stories, places, pipeline, story] = await Promise.all([
      getJSON(`/api/stories?${params}`),
      getJSON(`/api/places${selected ? "?story=" + encodeURIComponent(selected) : ""}`),
      getJSON("/api/pipeline"),
      selected ? getJSON(`/api/story/${encodeURIComponent(selected)}`).catch(() => null) : null,
    ]);
    renderStories(stories);
    renderMarkers(places, Boolean(selected));
    renderPipeline(pipeline);
    if (story) renderDetail(story);
    $("live").textContent = pipeline.problem ? `stale: ${pipeline.problem}`
      : `live · ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    $("live").textContent = `reconnecting (${error.message})`;
  }
}

async function refreshFacets() {
  try {
    renderFacets(await getJSON("/api/facets"));
  } catch (error) {
    $("live").textContent = `reconnecting (${error.message})`;
  }
}

async function drawMap() {
  const world = await getJSON("/static/world.json");
  $("countries").replaceChildren(...world.countries.map((c) => {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", c.d);
    const title = document.createElementNS(SVG, "title");
    title.textContent = c.name;
    path.append(title);
    return path;
  }));
}

function start() {
  $("stories").tBodies[0].addEventListener("click", (event) => {
    const row = event.target.closest("tr");
    if (!row) return;
    view.selected = row.dataset.id === view.selected ? null : row.dataset.id;
    if (!view.selected) $("detail").hidden = true;
    refresh();
  });
  let typing = null;
  for (const id of ["q", "entity", "language", "country", "source"]) {
    $(id).addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => { view.offset = 0; refresh(); }, 200);
    });
  }
  $("prev").addEventListener("click", () => { view.offset = Math.max(0, view.offset - PAGE); refresh(); });
  $("next").addEventListener("click", () => { view.offset += PAGE; refresh(); });
  drawMap().catch((error) => { $("map-note").textContent = `map: ${error.message}`; });
  refresh();
  refreshFacets();
  setInterval(refresh, EVERY_MS);
  setInterval(refreshFacets, 5 * EVERY_MS);
}

document.addEventListener("DOMContentLoaded", start);
