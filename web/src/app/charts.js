// Interactive plots with Chart.js (npm, served from /vendor/chart.js/ like
// OpenSeadragon: no CDN). One chart per canvas; drawing again replaces it.

// Paul Tol's bright scheme: one colour per sample, distinct for the colour-blind.
export const COLOURS = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb"];

function chartLibrary() {
  if (!window.Chart) throw new Error("Chart.js is not installed on this server (run make setup)");
  return window.Chart;
}

function draw(canvas, config) {
  const Chart = chartLibrary();
  Chart.getChart(canvas)?.destroy();
  return new Chart(canvas, {
    ...config,
    options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options },
  });
}

const axis = (title, extra = {}) => ({ title: { display: true, text: title }, ...extra });

// A cell's trace: one line per series, x = time.
export function traceChart(canvas, times, series, { xTitle = "time", yTitle = "value" } = {}) {
  return draw(canvas, {
    type: "line",
    data: {
      datasets: series.map((s, i) => ({
        label: s.label,
        data: times.map((t, k) => ({ x: t, y: s.values[k] })),
        borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length],
        pointRadius: 2,
        spanGaps: false,
      })),
    },
    options: { parsing: false, scales: { x: axis(xTitle, { type: "linear" }), y: axis(yTitle) } },
  });
}

// Per-sample histograms on shared bins: values = {sample: [numbers]}.
export function histogramChart(canvas, valuesBySample, parameter, bins = 30) {
  const all = Object.values(valuesBySample).flat().filter(Number.isFinite);
  if (!all.length) throw new Error(`No fitted cell has a value for ${parameter}`);
  let low = Math.min(...all);
  let high = Math.max(...all);
  if (low === high) [low, high] = [low - 0.5, high + 0.5];
  const width = (high - low) / bins;
  const centres = Array.from({ length: bins }, (_, i) => low + (i + 0.5) * width);
  const datasets = Object.entries(valuesBySample).map(([sample, values], i) => {
    const counts = new Array(bins).fill(0);
    for (const v of values) if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.floor((v - low) / width))]++;
    return {
      label: `${sample} (${values.filter(Number.isFinite).length})`,
      data: counts,
      backgroundColor: COLOURS[i % COLOURS.length] + "aa",
      borderColor: COLOURS[i % COLOURS.length],
      borderWidth: 1,
      barPercentage: 1,
      categoryPercentage: 1,
    };
  });
  return draw(canvas, {
    type: "bar",
    data: { labels: centres.map((c) => c.toPrecision(3)), datasets },
    options: { scales: { x: axis(parameter), y: axis("cells", { beginAtZero: true }) } },
  });
}

// Two parameters, one colour per sample; points = {sample: [{x, y, cell}]};
// onPick(point) when a point is clicked.
export function scatterChart(canvas, pointsBySample, xTitle, yTitle, onPick) {
  const datasets = Object.entries(pointsBySample).map(([sample, points], i) => ({
    label: `${sample} (${points.length})`,
    data: points,
    backgroundColor: COLOURS[i % COLOURS.length] + "cc",
    pointRadius: 3,
  }));
  return draw(canvas, {
    type: "scatter",
    data: { datasets },
    options: {
      parsing: false,
      scales: { x: axis(xTitle, { type: "linear" }), y: axis(yTitle) },
      onClick: (_, elements, chart) => {
        const hit = elements[0];
        if (hit && onPick) onPick(chart.data.datasets[hit.datasetIndex].data[hit.index]);
      },
      plugins: {
        tooltip: { callbacks: { label: (item) => `FOV ${item.raw.fov}, cell ${item.raw.cell}: (${item.raw.x.toPrecision(3)}, ${item.raw.y.toPrecision(3)})` } },
      },
    },
  });
}
