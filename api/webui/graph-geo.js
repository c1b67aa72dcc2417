/* The graph explorer's map mode (Leaflet, GeoJSON only): the county outlines as the base
   (GET /graph/counties) and the scene's nodes that have a place (POST /graph/placed),
   coloured by kind; a click selects the node. Uses graph.js's scene (cy, lang, select). */
"use strict";
let geo = null;          // the Leaflet map, made when map mode first opens
let geoLayer = null;
let countyLayer = null;

async function drawGeo() {
  if (!geo) {
    geo = L.map($("geo"), { attributionControl: false, zoomSnap: 0.25, preferCanvas: false });
    const outlines = await api("/graph/counties");
    countyLayer = L.geoJSON(outlines, { style: { color: "#4a5360", weight: 0.8,
                                                 fillColor: "#eef3f8", fillOpacity: 1 } })
      .bindTooltip((layer) => layer.feature.properties.name).addTo(geo);
    geo.fitBounds(countyLayer.getBounds());
  }
  const ids = cy.nodes().map((n) => n.id());
  const placed = ids.length ? await api("/graph/placed", { method: "POST", body: { ids, lang } })
    : { type: "FeatureCollection", features: [], unplaced: [] };
  if (geoLayer) geoLayer.remove();
  geoLayer = L.geoJSON(placed, {
    style: (f) => (f.geometry.type === "Point" ? {}
      : { color: COLOURS[f.properties.kind] || "#555", weight: 2,
          fillOpacity: f.properties.kind === "GridCell" ? 0.5 : 0.25 }),
    pointToLayer: (f, latlng) => L.circleMarker(latlng, {
      radius: 7, color: "#fff", weight: 1, fillOpacity: 1,
      fillColor: COLOURS[f.properties.kind] || "#555" }),
    onEachFeature: (f, layer) => {
      layer.bindTooltip(`${f.properties.kind_name}：${f.properties.caption}`);
      layer.on("click", () => select(f.properties.id).catch(showError));
    },
  }).addTo(geo);
  const points = placed.features.filter((f) => f.properties.kind !== "County"
                                         && f.properties.kind !== "City"
                                         && f.properties.kind !== "Province");
  if (points.length) geo.fitBounds(L.geoJSON({ type: "FeatureCollection", features: points })
    .getBounds(), { maxZoom: 9, padding: [30, 30] });
  status(placed.unplaced.length ? fill("noPlace", { n: placed.unplaced.length }) : "");
  $("geo").dataset.features = String(placed.features.length);
}

