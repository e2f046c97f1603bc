package dev.graft.app;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A task's report as one self-contained HTML page (no network, no external files): the learning curve
 * (validation accuracy of every version against the number of labelled training images it saw, and test
 * accuracy where known), with promotions, rollbacks and fine-tuned versions marked; the serving history; the
 * confusion matrix of the serving version (the newest if nothing serves); and throughput over time (labelled
 * images trained on against publish time). Drawn as inline SVG by a small inline script from the model-update
 * events embedded in the page. Takes the task's events as the registry returns them: {@code version-published}
 * and {@code alias-set} events (others are ignored).
 */
public final class HtmlReport {
    public static final String FILE_NAME = "index.html";

    private HtmlReport() {}

    /** Writes {@code DIR/index.html} atomically and returns its path. */
    public static Path write(Path dir, String task, List<ModelUpdateEvent> events, Map<Integer, Double> testAccuracy)
            throws IOException {
        String html = render(task, events, testAccuracy);
        Files.createDirectories(dir);
        Path out = dir.resolve(FILE_NAME);
        Path tmp = Files.createTempFile(dir, ".graft-report", ".html");
        Files.writeString(tmp, html, StandardCharsets.UTF_8);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return out;
    }

    public static String render(String task, List<ModelUpdateEvent> events, Map<Integer, Double> testAccuracy) {
        if (events.isEmpty()) {
            throw new IllegalArgumentException("task '" + task + "' has no published versions to report on");
        }
        List<ModelUpdateEvent> sorted = new ArrayList<>(events.stream().filter(ModelUpdateEvent::publishesVersion).toList());
        if (sorted.isEmpty()) {
            throw new IllegalArgumentException("task '" + task + "' has no published versions to report on");
        }
        sorted.sort(Comparator.comparingInt(ModelUpdateEvent::version));
        // Serving history, in log order: which version served from when, and why.
        List<Map<String, Object>> serving = new ArrayList<>();
        java.util.Set<Integer> promoted = new java.util.HashSet<>();
        java.util.Set<Integer> rolledBackTo = new java.util.HashSet<>();
        for (ModelUpdateEvent e : events) {
            if (!e.setsAlias() || !ModelUpdateEvent.SERVING.equals(e.alias())) continue;
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("version", e.version());
            h.put("reason", e.reason());
            h.put("at", e.createdAt() == null ? "" : e.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
            serving.add(h);
            if (ModelUpdateEvent.REASON_ROLLBACK.equals(e.reason())) {
                rolledBackTo.add(e.version());
            } else {
                promoted.add(e.version());
            }
        }
        List<Map<String, Object>> versions = new ArrayList<>();
        for (ModelUpdateEvent e : sorted) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("version", e.version());
            v.put("createdAt", e.createdAt() == null ? "" : e.createdAt().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
            v.put("epochMs", e.createdAt() == null ? null : e.createdAt().toEpochMilli());
            v.put("trainCount", e.metrics().trainCount());
            v.put("validationCount", e.metrics().validationCount());
            v.put("validationAccuracy", e.metrics().validationAccuracy());
            v.put("testAccuracy", testAccuracy.get(e.version()));
            v.put("fineTuned", fineTuned(e));
            v.put("promoted", promoted.contains(e.version()));
            v.put("rolledBackTo", rolledBackTo.contains(e.version()));
            versions.add(v);
        }
        ModelUpdateEvent newest = sorted.get(sorted.size() - 1);
        Integer servingVersion = serving.isEmpty() ? null : (Integer) serving.get(serving.size() - 1).get("version");
        ModelUpdateEvent shown = servingVersion == null ? newest
                : sorted.stream().filter(e -> e.version() == servingVersion).findFirst().orElse(newest);
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("task", task);
        data.put("base", shown.base() == null ? null : shown.base().id());
        data.put("versions", versions);
        data.put("serving", serving);
        data.put("shown", Map.of("version", shown.version(), "serving", shown.version() == (servingVersion == null ? -1 : servingVersion),
                "labels", shown.labels(),
                "confusionMatrix", shown.metrics().confusionMatrix() == null ? new int[0][0] : shown.metrics().confusionMatrix()));
        String json = new String(Json.toBytes(data), StandardCharsets.UTF_8)
                .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026");
        StringBuilder rows = new StringBuilder();
        for (Map<String, Object> v : versions) {
            Object test = v.get("testAccuracy");
            List<String> marks = new ArrayList<>();
            if ((Boolean) v.get("fineTuned")) marks.add("fine-tuned");
            if ((Boolean) v.get("promoted")) marks.add("promoted");
            if ((Boolean) v.get("rolledBackTo")) marks.add("rollback target");
            rows.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%d</td><td>%d</td><td>%.4f</td><td>%s</td><td>%s</td></tr>%n",
                    (Integer) v.get("version"), escape((String) v.get("createdAt")), (Integer) v.get("trainCount"),
                    (Integer) v.get("validationCount"), (Double) v.get("validationAccuracy"),
                    test == null ? "" : String.format(Locale.ROOT, "%.4f", (Double) test), String.join(", ", marks)));
        }
        StringBuilder history = new StringBuilder();
        for (Map<String, Object> h : serving) {
            history.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%s</td></tr>%n",
                    escape((String) h.get("at")), (Integer) h.get("version"), escape(String.valueOf(h.get("reason")))));
        }
        return TEMPLATE.replace("@TITLE@", escape("Graft report: " + task))
                .replace("@ROWS@", rows.toString())
                .replace("@HISTORY@", history.length() == 0 ? "<tr><td colspan=\"3\">no serving alias set</td></tr>" : history.toString())
                .replace("@DATA@", json);
    }

    /** Whether a version's head came from fine-tuning (the head trainer records {@code fineTuned: true}). */
    static boolean fineTuned(ModelUpdateEvent e) {
        return e.lineage() != null && e.lineage().hyperParameters() != null
                && Boolean.TRUE.equals(e.lineage().hyperParameters().get("fineTuned"));
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final String TEMPLATE = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>@TITLE@</title>
            <style>
              body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
              h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
              table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: right; border-bottom: 1px solid #ddd; }
              svg text { font: 11px system-ui, sans-serif; fill: #333; }
              .axis { stroke: #333; } .grid { stroke: #eee; }
              .val { stroke: #1f77b4; } .test { stroke: #ff7f0e; } .line { fill: none; }
              .point.val { fill: #1f77b4; } .point.test { fill: #ff7f0e; }
              .muted { color: #777; }
              .promo { fill: none; stroke: #2ca02c; stroke-width: 2; } .rollback { fill: #d62728; } .ft { fill: #9467bd; }
              .tp { stroke: #2ca02c; }
            </style>
            </head>
            <body>
            <h1>@TITLE@</h1>
            <p class="muted" id="base"></p>
            <h2>Learning curve</h2>
            <p class="muted">Accuracy of each version against the number of labelled training images it was trained on
              (<span style="color:#1f77b4">validation</span>, <span style="color:#ff7f0e">test</span> where measured).
              Marks: <span style="color:#2ca02c">&#9711; promoted to serving</span>, <span style="color:#d62728">&#9660; rollback target</span>,
              <span style="color:#9467bd">&#9670; fine-tuned base</span>.</p>
            <div id="curve"></div>
            <h2>Serving history</h2>
            <table>
            <tr><th>at</th><th>serving version</th><th>reason</th></tr>
            @HISTORY@</table>
            <h2>Throughput over time</h2>
            <p class="muted">Labelled training images each version was trained on, against the time it was published; the label on
              each segment is the rate (images/s) at which labelled images flowed through the pipeline between two versions.</p>
            <div id="throughput"></div>
            <h2 id="cm-title">Confusion matrix</h2>
            <p class="muted">Rows: true class; columns: predicted class; counts of validation images.</p>
            <div id="confusion"></div>
            <h2>Versions</h2>
            <table>
            <tr><th>version</th><th>created</th><th>train images</th><th>validation images</th><th>validation accuracy</th><th>test accuracy</th><th>marks</th></tr>
            @ROWS@</table>
            <script type="application/json" id="graft-data">@DATA@</script>
            <script>
            (function () {
              var NS = "http://www.w3.org/2000/svg";
              var data = JSON.parse(document.getElementById("graft-data").textContent);
              function el(name, attrs, parent, text) {
                var e = document.createElementNS(NS, name);
                for (var k in attrs) { e.setAttribute(k, attrs[k]); }
                if (text !== undefined) { e.textContent = text; }
                if (parent) { parent.appendChild(e); }
                return e;
              }
              document.getElementById("base").textContent = data.base ? "base " + data.base : "";

              // Learning curve
              var W = 640, H = 360, L = 60, R = 20, T = 20, B = 50;
              var vs = data.versions;
              var maxX = Math.max.apply(null, vs.map(function (v) { return v.trainCount; })) || 1;
              var ys = [];
              vs.forEach(function (v) { ys.push(v.validationAccuracy); if (v.testAccuracy != null) { ys.push(v.testAccuracy); } });
              var minY = Math.max(0, Math.floor((Math.min.apply(null, ys) - 0.05) * 10) / 10), maxY = 1;
              function px(x) { return L + (W - L - R) * x / maxX; }
              function py(y) { return T + (H - T - B) * (1 - (y - minY) / (maxY - minY || 1)); }
              var svg = el("svg", {id: "learning-curve", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img"},
                  document.getElementById("curve"));
              for (var i = 0; i <= 5; i++) {
                var gy = minY + (maxY - minY) * i / 5;
                el("line", {"class": "grid", x1: L, x2: W - R, y1: py(gy), y2: py(gy)}, svg);
                el("text", {x: L - 8, y: py(gy) + 4, "text-anchor": "end"}, svg, gy.toFixed(2));
                var gx = maxX * i / 5;
                el("text", {x: px(gx), y: H - B + 16, "text-anchor": "middle"}, svg, Math.round(gx));
              }
              el("line", {"class": "axis", x1: L, x2: W - R, y1: H - B, y2: H - B}, svg);
              el("line", {"class": "axis", x1: L, x2: L, y1: T, y2: H - B}, svg);
              el("text", {x: (L + W - R) / 2, y: H - 10, "text-anchor": "middle"}, svg, "labelled training images");
              el("text", {x: 14, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (T + H - B) / 2 + ")"}, svg, "accuracy");
              function series(cls, key) {
                var pts = vs.filter(function (v) { return v[key] != null; });
                if (pts.length === 0) { return; }
                el("polyline", {"class": cls + " line", fill: "none", "stroke-width": 2,
                  points: pts.map(function (v) { return px(v.trainCount) + "," + py(v[key]); }).join(" ")}, svg);
                pts.forEach(function (v) {
                  var c = el("circle", {"class": cls + " point", r: 4, cx: px(v.trainCount), cy: py(v[key]),
                    "data-version": v.version, "data-x": v.trainCount, "data-y": v[key]}, svg);
                  el("title", {}, c, "version " + v.version + ": " + v.trainCount + " images, " + key + " " + v[key].toFixed(4));
                  if (cls === "val") {
                    el("text", {x: px(v.trainCount), y: py(v[key]) - 8, "text-anchor": "middle"}, svg, "v" + v.version);
                  }
                });
              }
              series("val", "validationAccuracy");
              series("test", "testAccuracy");
              vs.forEach(function (v) {
                var x = px(v.trainCount), y = py(v.validationAccuracy);
                if (v.promoted) { el("circle", {"class": "promo mark", r: 8, cx: x, cy: y, "data-version": v.version}, svg); }
                if (v.rolledBackTo) { el("path", {"class": "rollback mark", d: "M" + (x - 5) + "," + (y + 12) + " h10 l-5,8 z", "data-version": v.version}, svg); }
                if (v.fineTuned) { el("path", {"class": "ft mark", d: "M" + x + "," + (y - 24) + " l5,5 l-5,5 l-5,-5 z", "data-version": v.version}, svg); }
              });

              // Throughput over time
              var tv = vs.filter(function (v) { return v.epochMs != null; });
              var tsvg = el("svg", {id: "throughput-chart", width: W, height: 240, viewBox: "0 0 " + W + " 240", role: "img"},
                  document.getElementById("throughput"));
              if (tv.length > 0) {
                var t0 = tv[0].epochMs, t1 = Math.max(tv[tv.length - 1].epochMs, t0 + 1000), TH = 240;
                var maxN = Math.max.apply(null, tv.map(function (v) { return v.trainCount; })) || 1;
                function tx(t) { return L + (W - L - R) * (t - t0) / (t1 - t0); }
                function ty(n) { return T + (TH - T - B) * (1 - n / maxN); }
                el("line", {"class": "axis", x1: L, x2: W - R, y1: TH - B, y2: TH - B}, tsvg);
                el("line", {"class": "axis", x1: L, x2: L, y1: T, y2: TH - B}, tsvg);
                el("text", {x: (L + W - R) / 2, y: TH - 10, "text-anchor": "middle"}, tsvg,
                    "seconds since version " + tv[0].version + " (" + Math.round((t1 - t0) / 1000) + " s shown)");
                el("text", {x: L - 8, y: ty(maxN) + 4, "text-anchor": "end"}, tsvg, String(maxN));
                el("text", {x: L - 8, y: ty(0) + 4, "text-anchor": "end"}, tsvg, "0");
                el("polyline", {"class": "tp line", fill: "none", "stroke-width": 2,
                  points: tv.map(function (v) { return tx(v.epochMs) + "," + ty(v.trainCount); }).join(" ")}, tsvg);
                tv.forEach(function (v, i) {
                  el("circle", {"class": "tp point", r: 3, cx: tx(v.epochMs), cy: ty(v.trainCount), fill: "#2ca02c", "data-version": v.version}, tsvg);
                  if (i > 0) {
                    var p = tv[i - 1], dt = (v.epochMs - p.epochMs) / 1000;
                    if (dt > 0) {
                      el("text", {x: (tx(p.epochMs) + tx(v.epochMs)) / 2, y: (ty(p.trainCount) + ty(v.trainCount)) / 2 - 6,
                        "text-anchor": "middle", "class": "rate"}, tsvg, ((v.trainCount - p.trainCount) / dt).toFixed(1) + "/s");
                    }
                  }
                });
              }

              // Confusion matrix of the serving version (the newest if nothing serves)
              var n = data.shown, cm = n.confusionMatrix, labels = n.labels, k = cm.length;
              document.getElementById("cm-title").textContent = "Confusion matrix of version " + n.version
                  + (n.serving ? " (serving)" : " (newest; nothing serves)");
              var cell = Math.max(18, Math.min(48, Math.floor(480 / Math.max(k, 1)))), off = 90;
              var max = 0;
              cm.forEach(function (row) { row.forEach(function (c) { max = Math.max(max, c); }); });
              var size = off + cell * k + 10, width = size + 70; // room for the last rotated column label
              var m = el("svg", {id: "confusion-matrix", width: width, height: size, viewBox: "0 0 " + width + " " + size, role: "img"},
                  document.getElementById("confusion"));
              for (var r = 0; r < k; r++) {
                el("text", {x: off - 6, y: off + cell * r + cell / 2 + 4, "text-anchor": "end"}, m, labels[r]);
                el("text", {x: off + cell * r + cell / 2, y: off - 6, "text-anchor": "start",
                  transform: "rotate(-45 " + (off + cell * r + cell / 2) + " " + (off - 6) + ")"}, m, labels[r]);
                for (var c = 0; c < k; c++) {
                  var v = cm[r][c], a = max ? v / max : 0;
                  var rect = el("rect", {"class": "cell", x: off + cell * c, y: off + cell * r, width: cell - 1, height: cell - 1,
                    fill: r === c ? "rgba(31,119,180," + (0.1 + 0.9 * a) + ")" : "rgba(214,39,40," + (0.05 + 0.95 * a) + ")",
                    "data-row": r, "data-col": c, "data-count": v}, m);
                  el("title", {}, rect, labels[r] + " predicted as " + labels[c] + ": " + v);
                  if (cell >= 24) {
                    el("text", {x: off + cell * c + cell / 2, y: off + cell * r + cell / 2 + 4, "text-anchor": "middle"}, m, String(v));
                  }
                }
              }
              document.body.setAttribute("data-drawn", "true");
            })();
            </script>
            </body>
            </html>
            """;
}
