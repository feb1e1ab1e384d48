/* migwire report: draws the charts from the inlined analysis with uPlot. Plain browser script, no network. */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('migwire-data').textContent);
  var css = getComputedStyle(document.documentElement);
  var v = function (name) { return css.getPropertyValue(name).trim(); };
  var palette = ['--c0', '--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7'].map(v);
  var drawn = 0;
  var MARKER = { round: v('--m-round'), 'switchover-start': v('--m-switch'), 'postcopy-listen': v('--m-listen'), 'postcopy-run': v('--m-run'), end: v('--m-end'), 'return-path': v('--m-rp') };

  function size(el, h) { return { width: Math.max(320, el.clientWidth || 1200), height: h }; }
  function bytes(n) {
    if (n == null) return '';
    var a = Math.abs(n);
    if (a < 1024) return Math.round(n) + ' B';
    if (a < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (a < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(2) + ' GiB';
  }
  function axis(label, fmt) {
    var a = { label: label, stroke: v('--fg'), grid: { stroke: v('--line'), width: 1 }, ticks: { stroke: v('--line'), width: 1 } };
    if (fmt) { a.values = function (u, vals) { return vals.map(fmt); }; a.size = 84; a.gap = 6; }
    return a;
  }
  /** Draw the chart, then mark the container with how many points it drew (tests read it). */
  function plot(id, opts, cols, points) {
    var el = document.getElementById(id);
    if (!el) return null;
    var s = size(el, opts.height || 260);
    opts.width = s.width; opts.height = s.height;
    var u = new uPlot(opts, cols, el);
    el.setAttribute('data-points', String(points));
    drawn++;
    return u;
  }

  function markersHook(markers) {
    return function (u) {
      var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
      ctx.save();
      ctx.font = Math.round(10 * devicePixelRatio) + 'px system-ui, sans-serif';
      var row = 0;
      markers.forEach(function (m) {
        var x = Math.round(u.valToPos(m.x, 'x', true));
        if (x < u.bbox.left - 2 || x > u.bbox.left + u.bbox.width + 2) return;
        ctx.strokeStyle = MARKER[m.kind] || '#888';
        ctx.beginPath();
        if (m.kind === 'return-path') {
          ctx.lineWidth = devicePixelRatio;
          ctx.moveTo(x, top + h); ctx.lineTo(x, top + h - 8 * devicePixelRatio);
        } else {
          ctx.lineWidth = (m.kind === 'round' ? 1 : 2) * devicePixelRatio;
          ctx.setLineDash(m.kind === 'round' ? [4 * devicePixelRatio, 3 * devicePixelRatio] : []);
          ctx.moveTo(x, top); ctx.lineTo(x, top + h);
        }
        ctx.stroke();
        ctx.setLineDash([]);
        if (m.kind !== 'round' && m.kind !== 'return-path') {
          ctx.fillStyle = MARKER[m.kind];
          // Labels of markers close together (SWITCHOVER_START, POSTCOPY_LISTEN, RUN) go on separate rows.
          ctx.textAlign = x > u.bbox.left + u.bbox.width * 0.8 ? 'right' : 'left';
          ctx.fillText(m.label, x + (ctx.textAlign === 'right' ? -3 : 3) * devicePixelRatio, top + (12 + 12 * (row++ % 3)) * devicePixelRatio);
        }
      });
      ctx.restore();
    };
  }

  function throughput() {
    var t = data.timeline;
    var series = t.series.filter(function (s) { return s.values.some(function (x) { return x > 0; }); });
    var unit = t.unit === 's' ? 'seconds' : 'MiB into the main stream';
    var opts = {
      height: 320,
      scales: { x: { time: false } },
      series: [{ label: unit }].concat(series.map(function (s, i) {
        return { label: s.channel, stroke: palette[i % palette.length], width: 1.5, value: function (u, val) { return val == null ? '' : bytes(val) + (t.unit === 's' ? '/s' : ''); } };
      })),
      axes: [axis(unit), axis(t.unit === 's' ? 'bytes/s' : 'bytes per bin', bytes)],
      hooks: { draw: [markersHook(t.markers)] },
    };
    var points = series.reduce(function (n, s) { return n + s.values.filter(function (x) { return x > 0; }).length; }, 0);
    plot('chart-throughput', opts, [t.x].concat(series.map(function (s) { return s.values; })), points);
    document.getElementById('chart-throughput').setAttribute('data-markers', String(t.markers.length));
  }

  function rounds() {
    var r = data.rounds;
    if (r.length === 0) return;
    var x = r.map(function (_, i) { return i; });
    var label = function (u, vals) { return vals.map(function (i) { return Number.isInteger(i) && r[i] ? String(r[i].round) : ''; }); };
    var bars = uPlot.paths.bars({ size: [0.7, 60] });
    var opts = {
      height: 240,
      scales: { x: { time: false, range: [-0.6, r.length - 0.4] } },
      series: [
        { label: 'round', value: function (u, i) { return i == null || !r[i] ? '' : String(r[i].round); } },
        { label: 'pages', stroke: palette[0], fill: palette[0] + '55', paths: bars, points: { show: false } },
        { label: 're-sent', stroke: palette[1], width: 2, points: { show: true } },
        { label: 'zero', stroke: palette[2], width: 2, points: { show: true } },
      ],
      axes: [Object.assign(axis('round'), { values: label, splits: function () { return x; } }), axis('pages')],
    };
    var u = plot('chart-rounds', opts, [x, r.map(function (s) { return s.pages; }), r.map(function (s) { return s.resentPages; }), r.map(function (s) { return s.zeroPages; })], r.length);
    if (u) u.root.parentNode.setAttribute('data-rounds', String(r.length));
    var withRates = r.some(function (s) { return s.bandwidth != null; });
    if (!withRates) return;
    plot('chart-rates', {
      height: 220,
      scales: { x: { time: false, range: [-0.6, r.length - 0.4] } },
      series: [
        { label: 'round', value: function (u, i) { return i == null || !r[i] ? '' : String(r[i].round); } },
        { label: 'bandwidth', stroke: palette[0], width: 2, value: function (u, val) { return val == null ? '' : bytes(val) + '/s'; } },
        { label: 'dirty rate', stroke: palette[1], width: 2, value: function (u, val) { return val == null ? '' : bytes(val) + '/s'; } },
      ],
      axes: [Object.assign(axis('round'), { values: label, splits: function () { return x; } }), axis('bytes/s', bytes)],
    }, [x, r.map(function (s) { return s.bandwidth == null ? null : s.bandwidth; }), r.map(function (s) { return s.dirtyRate == null ? null : s.dirtyRate; })], r.length);
  }

  function postcopy() {
    var p = data.postcopy;
    if (!p) return;
    var h = p.histogram;
    var total = h.counts.reduce(function (a, b) { return a + b; }, 0);
    if (total > 0) {
      var xs = h.counts.map(function (_, i) { return i; });
      plot('chart-latency-hist', {
        height: 200,
        scales: { x: { time: false, range: [-0.6, xs.length - 0.4] } },
        series: [{ label: '≤ ms', value: function (u, i) { return i == null ? '' : String(h.edgesMs[i]); } }, { label: 'requests', stroke: palette[4], fill: palette[4] + '66', paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
        axes: [Object.assign(axis('time until the page arrived (ms, upper edge)'), { values: function (u, vals) { return vals.map(function (i) { return Number.isInteger(i) && h.edgesMs[i] != null ? (i === xs.length - 1 ? '>' + h.edgesMs[i - 1] : '≤' + h.edgesMs[i]) : ''; }); }, splits: function () { return xs; } }), axis('requests')],
      }, [xs, h.counts], total);
    }
    var reqs = p.requests.filter(function (q) { return q.latencyMs != null; });
    if (reqs.length === 0) return;
    reqs.sort(function (a, b) { return a.x - b.x; });
    plot('chart-latency-time', {
      height: 220,
      scales: { x: { time: false }, y: { distr: 3 } },
      series: [
        { label: 's' },
        { label: 'served on main (ms)', stroke: palette[0], paths: function () { return null; }, points: { show: true, size: 5, fill: palette[0] } },
        { label: 'served on preempt (ms)', stroke: palette[4], paths: function () { return null; }, points: { show: true, size: 5, fill: palette[4] } },
      ],
      axes: [axis('request time (s)'), axis('ms until arrival')],
    }, [reqs.map(function (q) { return q.x; }), reqs.map(function (q) { return q.via === 'main' ? Math.max(q.latencyMs, 0.001) : null; }), reqs.map(function (q) { return q.via === 'postcopy-preempt' ? Math.max(q.latencyMs, 0.001) : null; })], reqs.length);
  }

  [throughput, rounds, postcopy].forEach(function (f) { f(); });
  document.body.setAttribute('data-charts-drawn', String(drawn));
})();
