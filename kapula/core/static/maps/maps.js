/* Kapula maps: progressive enhancement over plain inputs and tables.
 *
 * - [data-map-picker]: a location field. Clicking the map or dragging the marker fills the
 *   latitude/longitude inputs; typing coordinates moves the marker; "Use my location" asks
 *   the browser. The chosen point is also shown in ETRS-TM35FIN (EPSG:3067).
 * - [data-map-point]: one point (the ticket page).
 * - [data-map-tickets]: the tickets of a GeoJSON address as markers (the agents' map).
 *
 * The options (layers, service area, texts) come from the #kapula-map-options JSON element.
 * Without Leaflet (not installed, or no layers configured) no map is drawn and the inputs and
 * tables stay as they are. No inline script or style: the page's CSP stays strict.
 */
(function () {
  "use strict";

  var optionsEl = document.getElementById("kapula-map-options");
  if (!optionsEl) return;
  var options = JSON.parse(optionsEl.textContent);
  var text = options.text || {};
  var area = options.area; // [west, south, east, north]
  var hasMap = !!(window.L && options.layers && options.layers.length);
  var hasProj = !!window.proj4;

  function format(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (m, key) {
      return values[key] !== undefined ? values[key] : m;
    });
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function inArea(lat, lon) {
    return isFinite(lat) && isFinite(lon) && lat >= area[1] && lat <= area[3] &&
      lon >= area[0] && lon <= area[2];
  }

  function parseNumber(value) {
    var s = String(value || "").trim().replace(",", ".");
    if (!/^[-+]?\d+(\.\d*)?$|^[-+]?\.\d+$/.test(s)) return NaN;
    return parseFloat(s);
  }

  /** "N 6 821 586, E 327 620" style numbers of a WGS84 point, or "" without proj4. */
  function etrsText(lat, lon) {
    if (!hasProj) return "";
    var ne = window.proj4(options.etrs, [lon, lat]);
    var lang = document.documentElement.lang || "fi";
    var fmt = function (v) { return Math.round(v).toLocaleString(lang); };
    return format(text.etrs, { n: fmt(ne[1]), e: fmt(ne[0]) });
  }

  // --- the map ------------------------------------------------------------------------------

  function crsOf(layer) {
    if (layer.crs === "EPSG:3067" && L.Proj) {
      return new L.Proj.CRS("EPSG:3067", options.etrs, {
        origin: layer.origin,
        resolutions: layer.resolutions,
        bounds: L.bounds([layer.bounds[0], layer.bounds[1]], [layer.bounds[2], layer.bounds[3]])
      });
    }
    return L.CRS.EPSG3857;
  }

  function makeMap(el, interactive) {
    var first = options.layers[0];
    if (first.crs === "EPSG:3067" && !L.Proj) return null;
    var areaBounds = L.latLngBounds([area[1], area[0]], [area[3], area[2]]);
    var map = L.map(el, {
      crs: crsOf(first),
      minZoom: first.min_zoom,
      maxZoom: first.max_zoom,
      maxBounds: areaBounds.pad(0.2),
      scrollWheelZoom: interactive,
      keyboard: true
    });
    var base = {};
    options.layers.forEach(function (layer, i) {
      var tiles = L.tileLayer(layer.url, {
        attribution: layer.attribution,
        minZoom: layer.min_zoom,
        maxZoom: layer.max_zoom,
        tileSize: layer.tile_size,
        subdomains: layer.subdomains || "abc",
        bounds: areaBounds.pad(0.2)
      });
      if (i === 0) tiles.addTo(map);
      base[escapeHtml(layer.name)] = tiles;
    });
    if (options.layers.length > 1) L.control.layers(base, null, { collapsed: true }).addTo(map);
    if (options.center && options.zoom) {
      map.setView(options.center, options.zoom);
    } else {
      map.fitBounds(areaBounds);
    }
    el.classList.add("map-ready");
    return map;
  }

  // --- location picker ----------------------------------------------------------------------

  function initPicker(root) {
    if (root.getAttribute("data-map-ready")) return;
    root.setAttribute("data-map-ready", "1");
    var latInput = document.getElementById(root.getAttribute("data-lat-input"));
    var lonInput = document.getElementById(root.getAttribute("data-lon-input"));
    if (!latInput || !lonInput) return;
    var status = root.querySelector("[data-map-status]");
    var mapEl = root.querySelector("[data-map]");
    var mapPart = root.querySelector("[data-map-part]");
    var locate = root.querySelector("[data-map-locate]");
    var map = null;
    var marker = null;
    root.hidden = false;

    function say(message) {
      if (status) status.textContent = message;
    }

    function showPoint(lat, lon, pan) {
      if (!map) return;
      var latlng = L.latLng(lat, lon);
      if (!marker) {
        marker = L.marker(latlng, {
          draggable: true, keyboard: true, title: text.marker, alt: text.marker
        }).addTo(map);
        marker.on("dragend", function () {
          var p = marker.getLatLng();
          choose(p.lat, p.lng, false);
        });
      } else {
        marker.setLatLng(latlng);
      }
      if (pan) map.setView(latlng, Math.max(map.getZoom(), Math.min(map.getMaxZoom(),
        options.layers[0].crs === "EPSG:3067" ? 11 : 15)));
    }

    function describe(lat, lon) {
      var etrs = etrsText(lat, lon);
      return format(text.chosen, { lat: lat.toFixed(5), lon: lon.toFixed(5) }) +
        (etrs ? " " + etrs : "");
    }

    /** A point from the map or the browser: into the inputs, the marker and the status. */
    function choose(lat, lon, pan) {
      if (!inArea(lat, lon)) {
        say(text.outside);
        if (marker && latInput.value && lonInput.value) {
          marker.setLatLng([parseNumber(latInput.value), parseNumber(lonInput.value)]);
        }
        return;
      }
      latInput.value = lat.toFixed(6);
      lonInput.value = lon.toFixed(6);
      showPoint(lat, lon, pan);
      say(describe(lat, lon));
    }

    /** Typed coordinates: move the marker when both are valid. */
    function fromInputs(announce) {
      if (!latInput.value.trim() || !lonInput.value.trim()) return;
      var lat = parseNumber(latInput.value);
      var lon = parseNumber(lonInput.value);
      if (!isFinite(lat) || !isFinite(lon)) {
        if (announce) say(text.invalid);
        return;
      }
      if (!inArea(lat, lon)) {
        if (announce) say(text.outside);
        return;
      }
      showPoint(lat, lon, true);
      if (announce) say(describe(lat, lon));
    }

    if (hasMap && mapEl) {
      if (mapPart) mapPart.hidden = false;
      map = makeMap(mapEl, true);
      if (!map) {
        if (mapPart) mapPart.hidden = true;
      } else {
        map.on("click", function (e) { choose(e.latlng.lat, e.latlng.lng, false); });
        // keyboard: Enter or Space on the map chooses its centre (the cross-hair)
        mapEl.addEventListener("keydown", function (e) {
          if (e.target !== mapEl) return;
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            var c = map.getCenter();
            choose(c.lat, c.lng, false);
          }
        });
      }
    }
    latInput.addEventListener("change", function () { fromInputs(true); });
    lonInput.addEventListener("change", function () { fromInputs(true); });
    fromInputs(false);
    if (latInput.value && lonInput.value && isFinite(parseNumber(latInput.value)) &&
        isFinite(parseNumber(lonInput.value))) {
      var lat0 = parseNumber(latInput.value), lon0 = parseNumber(lonInput.value);
      if (inArea(lat0, lon0)) say(describe(lat0, lon0));
    }

    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        say(text.locating);
        locate.disabled = true;
        navigator.geolocation.getCurrentPosition(function (pos) {
          locate.disabled = false;
          var lat = pos.coords.latitude, lon = pos.coords.longitude;
          if (!inArea(lat, lon)) { say(text.outside); return; }
          choose(lat, lon, true);
          say(text.located + " " + describe(lat, lon));
        }, function () {
          locate.disabled = false;
          say(text.locate_failed);
        }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
      });
    }
  }

  // --- one point ------------------------------------------------------------------------------

  function initPoint(el) {
    if (el.getAttribute("data-map-ready") || !hasMap) return;
    el.setAttribute("data-map-ready", "1");
    var lat = parseFloat(el.getAttribute("data-lat"));
    var lon = parseFloat(el.getAttribute("data-lon"));
    if (!isFinite(lat) || !isFinite(lon)) return;
    el.hidden = false;
    var map = makeMap(el, false);
    if (!map) { el.hidden = true; return; }
    var label = el.getAttribute("data-label") || text.marker;
    L.marker([lat, lon], { title: label, alt: label, keyboard: false }).addTo(map);
    map.setView([lat, lon], Math.min(map.getMaxZoom(),
      options.layers[0].crs === "EPSG:3067" ? 10 : 15), { animate: false });
  }

  // --- tickets from GeoJSON -------------------------------------------------------------------

  function popupFor(p) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = p.number;
    head.appendChild(strong);
    head.appendChild(document.createTextNode(" " + p.title));
    box.appendChild(head);
    var meta = document.createElement("p");
    meta.textContent = [p.status_label, p.category].filter(Boolean).join(" · ");
    box.appendChild(meta);
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = text.open + " " + p.number;
    box.appendChild(link);
    return box;
  }

  function initTickets(el) {
    if (el.getAttribute("data-map-ready") || !hasMap) return;
    el.setAttribute("data-map-ready", "1");
    var status = document.getElementById(el.getAttribute("data-status") || "");
    el.hidden = false;
    var map = makeMap(el, true);
    if (!map) { el.hidden = true; return; }
    fetch(el.getAttribute("data-src"), {
      credentials: "same-origin", headers: { Accept: "application/geo+json" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (data) {
      var points = [];
      (data.features || []).forEach(function (f) {
        var c = f.geometry && f.geometry.coordinates;
        if (!c) return;
        var p = f.properties || {};
        var label = p.number + " " + p.title;
        var marker = L.marker([c[1], c[0]], { title: label, alt: label, keyboard: true });
        marker.bindPopup(popupFor(p));
        marker.addTo(map);
        points.push([c[1], c[0]]);
      });
      if (points.length) {
        map.fitBounds(L.latLngBounds(points).pad(0.1), {
          maxZoom: options.layers[0].crs === "EPSG:3067" ? 11 : 16, animate: false
        });
      } else if (status) {
        status.textContent = text.none;
      }
      el.setAttribute("data-markers", String(points.length));
    }).catch(function () {
      if (status) status.textContent = text.load_failed;
    });
  }

  function initAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-map-picker]"), initPicker);
    Array.prototype.forEach.call(document.querySelectorAll("[data-map-point]"), initPoint);
    Array.prototype.forEach.call(document.querySelectorAll("[data-map-tickets]"), initTickets);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
  // the workspace swaps parts of its pages with htmx: draw the maps of new content
  document.addEventListener("htmx:afterSettle", initAll);
})();
