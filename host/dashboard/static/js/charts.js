// The one module that uses uPlot (vendor/uPlot.iife.min.js, the global uPlot).

const uPlot = window.uPlot;

export function hasUplot() { return typeof uPlot === "function"; }

const AXIS = { stroke: "#5d6778", grid: { stroke: "#eceff3", width: 1 }, ticks: { stroke: "#dde1e8" } };

export function makeChart(container, { height = 180, series, xRange, yRange, xLabel, yLabel, xTime = false, hooks, cursor = true, select = false, data = null, bands = null }) {
  const width = Math.max(200, container.clientWidth || 600);
  const opts = {
    width,
    height,
    pxAlign: 0,
    legend: { show: false },
    cursor: cursor ? { drag: { x: select, y: false, setScale: false } } : { show: false },
    select: { show: select },
    scales: {
      x: { time: xTime, range: xRange || null },
      y: { range: typeof yRange === "function" ? (u, lo, hi) => yRange(lo, hi) : (yRange ? () => yRange : null), auto: true },
    },
    axes: [
      { ...AXIS, label: xLabel, size: xTime ? 46 : 36, labelSize: 14, font: "11px system-ui", labelFont: "12px system-ui" },
      { ...AXIS, label: yLabel, size: 56, labelSize: 16, space: 18, font: "11px system-ui", labelFont: "12px system-ui" },
    ],
    series: [{}, ...series.map((s) => ({ points: { show: false }, width: 1.25, spanGaps: false, ...s }))],
    hooks: hooks || {},
  };
  if (bands) opts.bands = bands;
  const initial = data || [new Float64Array(0), ...series.map(() => new Float64Array(0))];
  const chart = new uPlot(opts, initial, container);
  const observer = new ResizeObserver(() => {
    const w = Math.max(200, container.clientWidth);
    if (Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height });
  });
  observer.observe(container);
  chart._observer = observer;
  return chart;
}

export function destroyChart(chart) {
  if (!chart) return;
  if (chart._observer) chart._observer.disconnect();
  chart.destroy();
}

// Horizontal dashed lines at given y values (thresholds), drawn after the series.
export function drawHLines(u, lines) {
  const ctx = u.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  for (const { y, color, dash, label } of lines) {
    if (y === null || y === undefined || !Number.isFinite(y)) continue;
    const py = Math.round(u.valToPos(y, "y", true)) + 0.5;
    ctx.strokeStyle = color;
    ctx.setLineDash(dash || [6, 4]);
    ctx.lineWidth = 1.25 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, py);
    ctx.lineTo(u.bbox.left + u.bbox.width, py);
    ctx.stroke();
    if (label) {
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      ctx.textAlign = "right";
      ctx.font = `${11 * devicePixelRatio}px system-ui`;
      ctx.fillText(label, u.bbox.left + u.bbox.width - 4 * devicePixelRatio, py - 4 * devicePixelRatio);
    }
  }
  ctx.restore();
}
